/**
 * DEMO ONLY. The key pair the simulated city sink (demo mode, no upstream) signs its commands with. Its private
 * half is public, in this source file, so it proves nothing: the gateway trusts it only for commands from the
 * in-process demo sink (origin `demo`), never for a command arriving from a real upstream, and it is never
 * taken from or added to `cloud.commandKeys`.
 */
export const DEMO_ONLY_COMMAND_KID = 'demo-city-not-secret';

export const DEMO_ONLY_COMMAND_PRIVATE_KEY = `-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIOIX+UBrhp4mZ5eE1TbQ3Il8M2w3z91snN5TYSRrjIqj
-----END PRIVATE KEY-----
`;

export const DEMO_ONLY_COMMAND_PUBLIC_KEY = 'WqZ8wzZQY54/DYy2pfALA0mUIOwa4VmvxWXGzokleFc=';

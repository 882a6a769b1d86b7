/**
 * The fake ONVIF camera's SOAP: the envelope and faults, the few fields it reads from a request, and the replies
 * that depend only on the camera's settings (device.ts keeps the ones that depend on its state).
 */
export const NS =
  'xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:tt="http://www.onvif.org/ver10/schema" ' +
  'xmlns:tds="http://www.onvif.org/ver10/device/wsdl" xmlns:trt="http://www.onvif.org/ver10/media/wsdl" ' +
  'xmlns:tev="http://www.onvif.org/ver10/events/wsdl" xmlns:wsnt="http://docs.oasis-open.org/wsn/b-2" ' +
  'xmlns:wsa="http://www.w3.org/2005/08/addressing" xmlns:tptz="http://www.onvif.org/ver20/ptz/wsdl" ' +
  'xmlns:tns1="http://www.onvif.org/ver10/topics" xmlns:ter="http://www.onvif.org/ver10/error" ' +
  'xmlns:wsrf-rw="http://docs.oasis-open.org/wsrf/rw-2"';

export const envelope = (body: string): string => `<?xml version="1.0" encoding="UTF-8"?><s:Envelope ${NS}><s:Body>${body}</s:Body></s:Envelope>`;

export const fault = (code: string, subcode: string, reason: string): string =>
  envelope(
    `<s:Fault><s:Code><s:Value>${code}</s:Value><s:Subcode><s:Value>${subcode}</s:Value></s:Subcode></s:Code>` +
      `<s:Reason><s:Text xml:lang="en">${reason}</s:Text></s:Reason></s:Fault>`,
  );

/** The text of the first element named `local` (any prefix), or null. */
export function tag(xml: string, local: string): string | null {
  const m = new RegExp(`<(?:[\\w-]+:)?${local}(?:\\s[^>]*)?>([\\s\\S]*?)</(?:[\\w-]+:)?${local}>`).exec(xml);
  return m ? m[1]!.trim() : null;
}

/** PT2M, PT30S, PT1H → seconds. */
export function duration(s: string | null): number | null {
  const m = s ? /^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?$/.exec(s) : null;
  if (!m) return null;
  return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
}

/** The `xmlns-bomb` reply: a well-formed start, then 400 KB of `xmlns:aN` tokens. */
export function xmlnsBomb(bytes = 400_000): string {
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const decl = ` xmlns:a${i}`;
    parts.push(decl);
    size += decl.length;
  }
  return `<?xml version="1.0" encoding="UTF-8"?><s:Envelope ${NS}><s:Body><tds:GetSystemDateAndTimeResponse${parts.join('')}/></s:Body></s:Envelope>`;
}

export function systemDateAndTime(ms: number): string {
  const d = new Date(ms);
  return envelope(
    '<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime><tt:DateTimeType>Manual</tt:DateTimeType>' +
      '<tt:DaylightSavings>false</tt:DaylightSavings><tt:TimeZone><tt:TZ>UTC0</tt:TZ></tt:TimeZone><tt:UTCDateTime>' +
      `<tt:Time><tt:Hour>${d.getUTCHours()}</tt:Hour><tt:Minute>${d.getUTCMinutes()}</tt:Minute><tt:Second>${d.getUTCSeconds()}</tt:Second></tt:Time>` +
      `<tt:Date><tt:Year>${d.getUTCFullYear()}</tt:Year><tt:Month>${d.getUTCMonth() + 1}</tt:Month><tt:Day>${d.getUTCDate()}</tt:Day></tt:Date>` +
      '</tt:UTCDateTime></tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>',
  );
}

export function capabilities(url: string, ptz: boolean): string {
  return envelope(
    '<tds:GetCapabilitiesResponse><tds:Capabilities>' +
      `<tt:Device><tt:XAddr>${url}/onvif/device_service</tt:XAddr></tt:Device>` +
      `<tt:Events><tt:XAddr>${url}/onvif/events_service</tt:XAddr><tt:WSSubscriptionPolicySupport>false</tt:WSSubscriptionPolicySupport>` +
      '<tt:WSPullPointSupport>true</tt:WSPullPointSupport><tt:WSPausableSubscriptionManagerInterfaceSupport>false</tt:WSPausableSubscriptionManagerInterfaceSupport></tt:Events>' +
      `<tt:Media><tt:XAddr>${url}/onvif/media_service</tt:XAddr></tt:Media>` +
      (ptz ? `<tt:PTZ><tt:XAddr>${url}/onvif/ptz_service</tt:XAddr></tt:PTZ>` : '') +
      '</tds:Capabilities></tds:GetCapabilitiesResponse>',
  );
}

export function deviceInformation(manufacturer: string, model: string): string {
  return envelope(
    `<tds:GetDeviceInformationResponse><tds:Manufacturer>${manufacturer}</tds:Manufacturer>` +
      `<tds:Model>${model}</tds:Model><tds:FirmwareVersion>2.4.1</tds:FirmwareVersion>` +
      '<tds:SerialNumber>FV0001</tds:SerialNumber><tds:HardwareId>1.0</tds:HardwareId></tds:GetDeviceInformationResponse>',
  );
}

export function profiles(ptz: boolean): string {
  return envelope(
    '<trt:GetProfilesResponse>' +
      ['profile_1', 'profile_2']
        .map(
          (tok, i) =>
            `<trt:Profiles token="${tok}" fixed="true"><tt:Name>${i === 0 ? 'mainStream' : 'subStream'}</tt:Name>` +
            '<tt:VideoSourceConfiguration token="vsc_1"><tt:Name>vsc</tt:Name><tt:UseCount>2</tt:UseCount><tt:SourceToken>vs_1</tt:SourceToken>' +
            '<tt:Bounds x="0" y="0" width="1920" height="1080"/></tt:VideoSourceConfiguration>' +
            `<tt:VideoEncoderConfiguration token="vec_${i}"><tt:Name>vec</tt:Name><tt:UseCount>1</tt:UseCount><tt:Encoding>H264</tt:Encoding>` +
            '<tt:Resolution><tt:Width>1920</tt:Width><tt:Height>1080</tt:Height></tt:Resolution></tt:VideoEncoderConfiguration>' +
            (ptz ? '<tt:PTZConfiguration token="ptz_1"><tt:Name>ptz</tt:Name></tt:PTZConfiguration>' : '') +
            '</trt:Profiles>',
        )
        .join('') +
      '</trt:GetProfilesResponse>',
  );
}

/** GetStreamUri and GetSnapshotUri: a media URI that stays valid. */
export function mediaUri(action: 'GetStreamUri' | 'GetSnapshotUri', uri: string): string {
  return envelope(
    `<trt:${action}Response><trt:MediaUri><tt:Uri>${uri}</tt:Uri>` +
      '<tt:InvalidAfterConnect>false</tt:InvalidAfterConnect><tt:InvalidAfterReboot>false</tt:InvalidAfterReboot>' +
      `<tt:Timeout>PT0S</tt:Timeout></trt:MediaUri></trt:${action}Response>`,
  );
}

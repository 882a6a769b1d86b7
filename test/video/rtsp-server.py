#!/usr/bin/python3
"""A real RTSP server for the video tests: GStreamer's GstRtspServer serving an H.264 (or, with --codec h265, an
H.265) test pattern with the time drawn in, on 127.0.0.1 only.

    /usr/bin/python3 test/video/rtsp-server.py [--port N] [--width W] [--height H] [--fps F] [--paths a,b]
                                               [--codec h264|h265] [--shared]

Every path in --paths (default "profile_1,profile_2", the fake ONVIF device's profile tokens) serves the same
pattern. It prints, one line each, flushed, so the test driving it can synchronise on them:

    PORT <n>                          once it listens (n is the bound port, also for --port 0)
    CLIENTS <connected> <total>       whenever an RTSP client connects or goes away
    KEY <epoch ms> <hex>              with --report-keyframes: each H.264 keyframe as it enters the payloader (the
                                      moment it is sent), by the first bytes of its first IDR slice, so a consumer
                                      that finds the same slice can tell how long it took to arrive

It runs until stdin closes or it gets SIGTERM. The system interpreter on purpose: the bindings are Debian's
(python3-gi), and a pyenv or virtualenv python3 earlier on PATH cannot import them.
"""
import argparse
import signal
import sys
import time

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--width", type=int, default=320)
    ap.add_argument("--height", type=int, default=240)
    ap.add_argument("--fps", type=int, default=10)
    ap.add_argument("--bitrate", type=int, default=300, help="kbit/s")
    ap.add_argument("--paths", default="profile_1,profile_2")
    ap.add_argument("--pattern", default="ball", help="videotestsrc pattern; snow does not compress (a heavy stream)")
    # H.265: what some cameras send, which most browsers cannot play (x265enc, gstreamer1.0-plugins-bad).
    ap.add_argument("--codec", default="h264", choices=["h264", "h265"])
    # Frames between keyframes (default: one a second). A huge value with scene cuts off: a stream that sends one
    # keyframe and then never another, as a broken or hostile camera may (H.264 only).
    ap.add_argument("--gop", type=int, default=0)
    # One encoder for every client (the benchmark's many pulls), not a pipeline per session as a camera has.
    ap.add_argument("--shared", action="store_true")
    # The benchmark's live delay: send time here against receive time there (H.264 only).
    ap.add_argument("--report-keyframes", action="store_true")
    # A camera with a login, as schools' are: HTTP Digest (RFC 2617) on every request.
    ap.add_argument("--digest-user", default="")
    ap.add_argument("--digest-password", default="")
    args = ap.parse_args()

    Gst.init(None)
    loop = GLib.MainLoop()
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))

    # A keyframe every second, so a late joiner or a segmenter never waits long; the wall-clock time is drawn in
    # so a person (or a screenshot) can see frames advancing and the delay can be read off.
    gop = args.gop or args.fps
    x264_gop = f"key-int-max={gop}" + (" option-string=scenecut=0" if args.gop else "")
    launch = (
        f"( videotestsrc is-live=true pattern={args.pattern} ! video/x-raw,width={args.width},height={args.height},framerate={args.fps}/1 "
        "! clockoverlay time-format=\"%H:%M:%S\" font-desc=\"Sans 18\" ! timeoverlay valignment=bottom "
        + (
            f"! x264enc tune=zerolatency speed-preset=ultrafast bitrate={args.bitrate} {x264_gop} "
            "! video/x-h264,profile=baseline ! rtph264pay name=pay0 pt=96 config-interval=1 )"
            if args.codec == "h264"
            else f"! x265enc tune=zerolatency speed-preset=ultrafast bitrate={args.bitrate} key-int-max={args.fps} "
            "! video/x-h265,profile=main ! rtph265pay name=pay0 pt=96 config-interval=1 )"
        )
    )
    mounts = server.get_mount_points()
    permissions = None
    if args.digest_user:
        auth = GstRtspServer.RTSPAuth()
        auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
        token = GstRtspServer.RTSPToken()
        token.set_string("media.factory.role", "viewer")
        auth.add_digest(args.digest_user, args.digest_password, token)
        server.set_auth(auth)
        permissions = GstRtspServer.RTSPPermissions()
        permissions.add_permission_for_role("viewer", "media.factory.access", True)
        permissions.add_permission_for_role("viewer", "media.factory.construct", True)
    for path in [p for p in args.paths.split(",") if p]:
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(launch)
        if permissions is not None:
            factory.set_permissions(permissions)
        # By default one pipeline per client: each connection is a separate session the camera would pay for.
        factory.set_shared(args.shared)
        if args.report_keyframes:
            factory.connect("media-configure", lambda _f, media: watch_keyframes(media.get_element(), say))
        mounts.add_factory("/" + path, factory)

    state = {"connected": 0, "total": 0}

    def say(line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    def on_closed(_client) -> None:
        state["connected"] -= 1
        say(f"CLIENTS {state['connected']} {state['total']}")

    def on_client(_server, client) -> None:
        state["connected"] += 1
        state["total"] += 1
        client.connect("closed", on_closed)
        say(f"CLIENTS {state['connected']} {state['total']}")

    server.connect("client-connected", on_client)

    if server.attach(None) == 0:
        say("ERROR cannot listen")
        sys.exit(2)
    say(f"PORT {server.get_bound_port()}")

    def stop(*_a) -> bool:
        loop.quit()
        return False

    signal.signal(signal.SIGTERM, lambda *_a: GLib.idle_add(stop))
    # The parent going away closes our stdin: never outlive the test that started us.
    GLib.io_add_watch(GLib.IOChannel.unix_new(sys.stdin.fileno()), GLib.PRIORITY_DEFAULT, GLib.IO_IN | GLib.IO_HUP, lambda *_a: stop())
    loop.run()


def first_idr_slice(data: bytes) -> bytes | None:
    """The first IDR slice NAL unit (type 5) of an access unit, length-prefixed (avc) or with start codes."""
    nals = []
    off = 0
    while off + 4 <= len(data):  # avc: 4-byte big-endian lengths that tile the buffer exactly
        n = int.from_bytes(data[off : off + 4], "big")
        if n == 0 or off + 4 + n > len(data):
            nals = []
            break
        nals.append(data[off + 4 : off + 4 + n])
        off += 4 + n
    if not nals or off != len(data):
        nals = [p.lstrip(b"\x00") for p in data.split(b"\x00\x00\x01") if p.strip(b"\x00")]
    for nal in nals:
        if nal and nal[0] & 0x1F == 5:
            return nal
    return None


def watch_keyframes(pipeline, say) -> None:
    pad = pipeline.get_by_name("pay0").get_static_pad("sink")

    def probe(_pad, info):
        buf = info.get_buffer()
        if not buf.has_flags(Gst.BufferFlags.DELTA_UNIT):
            nal = first_idr_slice(buf.extract_dup(0, buf.get_size()))
            if nal is not None:
                say(f"KEY {time.time() * 1000:.1f} {nal[:48].hex()}")
        return Gst.PadProbeReturn.OK

    pad.add_probe(Gst.PadProbeType.BUFFER, probe)


if __name__ == "__main__":
    main()

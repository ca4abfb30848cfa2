#!/usr/bin/python3
"""GStreamer's RTSP server (gst-rtsp-server, through PyGObject) serving an H.264 test stream.

An RTSP implementation we did not write, for the camera integration tests. Run with the
system python (/usr/bin/python3), where Debian's python3-gi is installed.

  gst-rtsp-server.py --port 0 [--path /cam] [--width 320 --height 240]
                     [--auth none|basic|digest --user U --password P]

Prints one line "READY rtsp://127.0.0.1:<port><path>" on stdout once it listens (port 0 picks
a free port), then serves until stdin closes or it gets SIGTERM/SIGINT. Problems go to stderr
with exit status 2.
"""
import argparse
import os
import signal
import sys

try:
    import gi

    gi.require_version("Gst", "1.0")
    gi.require_version("GstRtsp", "1.0")
    gi.require_version("GstRtspServer", "1.0")
    from gi.repository import GLib, Gst, GstRtsp, GstRtspServer
except (ImportError, ValueError) as err:
    sys.stderr.write(f"gst-rtsp-server: GStreamer RTSP server bindings missing ({err}); "
                     "apt-get install python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base "
                     "gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly\n")
    sys.exit(2)


def main() -> int:
    p = argparse.ArgumentParser(description="H.264 test stream over GStreamer's RTSP server")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--path", default="/cam")
    p.add_argument("--width", type=int, default=320)
    p.add_argument("--height", type=int, default=240)
    p.add_argument("--fps", type=int, default=10)
    p.add_argument("--auth", choices=["none", "basic", "digest"], default="none")
    p.add_argument("--user", default="admin")
    p.add_argument("--password", default="")
    a = p.parse_args()
    if not a.path.startswith("/"):
        sys.stderr.write("gst-rtsp-server: --path must start with /\n")
        return 2

    Gst.init(None)
    for element in ("videotestsrc", "x264enc", "rtph264pay"):
        if Gst.ElementFactory.find(element) is None:
            sys.stderr.write(f"gst-rtsp-server: GStreamer element {element} missing "
                             "(gstreamer1.0-plugins-base, -good, -ugly)\n")
            return 2

    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(a.port))
    factory = GstRtspServer.RTSPMediaFactory()
    # A key frame every 10 frames and no B-frames: a probe that joins late gets SPS/PPS soon.
    factory.set_launch(
        f"( videotestsrc is-live=true pattern=ball "
        f"! video/x-raw,width={a.width},height={a.height},framerate={a.fps}/1 "
        f"! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=10 bframes=0 "
        f"! rtph264pay name=pay0 pt=96 config-interval=1 )"
    )
    factory.set_shared(True)

    if a.auth != "none":
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "viewer")
        if a.auth == "basic":
            auth.add_basic(GstRtspServer.RTSPAuth.make_basic(a.user, a.password), token)
            auth.set_supported_methods(GstRtsp.RTSPAuthMethod.BASIC)
        else:
            auth.add_digest(a.user, a.password, token)
            auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
        server.set_auth(auth)
        permissions = GstRtspServer.RTSPPermissions()
        permissions.add_role_from_structure(
            Gst.Structure.new_from_string("viewer, media.factory.access=(boolean)true, media.factory.construct=(boolean)true"))
        factory.set_permissions(permissions)

    server.get_mount_points().add_factory(a.path, factory)
    if server.attach(None) == 0:
        sys.stderr.write(f"gst-rtsp-server: cannot listen on 127.0.0.1:{a.port}\n")
        return 2

    loop = GLib.MainLoop()
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, loop.quit)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, loop.quit)
    # Stops with the test that started it, even if that one dies without a signal.
    GLib.io_add_watch(GLib.IOChannel.unix_new(sys.stdin.fileno()), GLib.PRIORITY_DEFAULT,
                      GLib.IOCondition.HUP | GLib.IOCondition.IN | GLib.IOCondition.ERR,
                      lambda *_: (loop.quit(), False)[1])
    print(f"READY rtsp://127.0.0.1:{server.get_bound_port()}{a.path}", flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Skips interpreter finalization: tearing down GStreamer objects there can hang the exit.
    os._exit(code)

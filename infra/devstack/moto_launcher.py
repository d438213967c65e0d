"""Runs moto's server for devstack and exits when its parent goes away.

Usage: python moto_launcher.py PORT   (PORT 0 picks a free port)

Prints `ready <port>` on stdout once the server accepts connections, then serves
until stdin reaches end of file. The parent process holds the write end of that
pipe, so however the parent ends (normal exit, panic, kill -9, Ctrl-C), the
operating system closes it and this process exits: no orphaned emulators, on any
OS. Exit code 3 means the port is taken.
"""

import logging
import sys
import threading


class OneAtATime:
    """Runs requests one at a time, except SQS's.

    DynamoDB applies a conditional write or a transaction atomically; moto does
    so only when requests do not overlap, and its threaded server overlaps them.
    Serialising restores the guarantee that idempotency keys, lockout counters
    and single-use tokens rely on. SQS stays concurrent: ReceiveMessage may wait
    up to 20 s for a message that another request is about to send.
    """

    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        authorization = environ.get("HTTP_AUTHORIZATION", "")
        if target.startswith("AmazonSQS") or "/sqs/aws4_request" in authorization:
            return self.app(environ, start_response)
        with self.lock:
            # The whole response is produced inside the lock.
            return list(self.app(environ, start_response))


def main() -> int:
    port = int(sys.argv[1])
    # One line per request on stderr would drown test output.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    try:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server
    except ImportError as error:
        print(f"moto is not installed in this Python: {error}", file=sys.stderr)
        return 2

    try:
        # Bound here, in the main thread, so a taken port is an error we can
        # report (moto's ThreadedMotoServer would wait forever instead).
        server = make_server(
            "127.0.0.1",
            port,
            OneAtATime(DomainDispatcherApplication(create_backend_app)),
            threaded=True,
            request_handler=MotoRequestHandler,
        )
    except (OSError, SystemExit):
        # werkzeug reports a taken port itself and raises SystemExit.
        print(f"cannot listen on 127.0.0.1:{port}", file=sys.stderr)
        return 3

    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    print(f"ready {server.server_port}", flush=True)

    try:
        while sys.stdin.buffer.read(4096):
            pass
    except KeyboardInterrupt:
        pass
    server.shutdown()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(0)

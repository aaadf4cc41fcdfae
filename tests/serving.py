"""The one way tests serve an app over HTTP: waitress (the production server) on a free local port.

Stopping is done inside waitress's own loop thread. Closing the sockets from the test's thread while that loop sits
in select() raced it: now and then the loop woke on a closed descriptor and died with EBADF, which pytest reports
as an unhandled thread exception in whichever test was tearing down."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def serving(app, threads: int = 8) -> Iterator[str]:
    """Serve `app` until the block ends; yields its base URL."""
    from waitress.server import create_server

    server = create_server(app, host="127.0.0.1", port=0, threads=threads)
    thread = threading.Thread(target=server.run, daemon=True, name=f"waitress-{server.effective_port}")
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        def close_all() -> None:
            # Runs in the loop thread, between two selects: close every channel, the listener and the trigger.
            # The loop ends by itself once its map is empty.
            for dispatcher in list(server._map.values()):
                dispatcher.close()

        # First let the worker threads finish what they are serving (they wake the loop through the trigger, so
        # it must still be open), then stop the loop from inside.
        server.task_dispatcher.shutdown(cancel_pending=True, timeout=10)
        server.trigger.pull_trigger(close_all)
        thread.join(timeout=10)
        assert not thread.is_alive(), "waitress did not stop within 10 s"

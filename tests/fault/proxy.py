"""A TCP proxy that can 'restart' the service behind it (cut every connection, refuse new ones, come
back) or 'hang' it (keep every connection open and forward nothing, as a frozen server or a network
that drops packets)."""

import contextlib
import socket
import threading
import time


class FlakyProxy:
    def __init__(self, target_host, target_port):
        self.target = (target_host, target_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.down = threading.Event()
        self.frozen = threading.Event()
        self.held = []  # connections accepted while frozen: open, never answered
        self.lock = threading.Lock()
        self.sockets = set()
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopped:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.down.is_set():
                client.close()  # like a server that is not up yet: the connection drops at once
                continue
            if self.frozen.is_set():
                self.held.append(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self.lock:
                self.sockets.update((client, upstream))
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client), daemon=True).start()

    def _pipe(self, source, destination):
        try:
            while data := source.recv(65536):
                while self.frozen.is_set() and not self.stopped:
                    time.sleep(0.05)  # bytes received and held: nothing reaches the other side
                destination.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, destination):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            with self.lock:
                self.sockets.discard(source)
                self.sockets.discard(destination)

    def cut(self):
        """The service goes away: live connections are cut and new ones refused until `restore()`."""
        self.down.set()
        with self.lock:
            live = list(self.sockets)
        for sock in live:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def restore(self):
        self.down.clear()

    def freeze(self):
        """The service hangs: connections stay open, new ones are accepted, no byte goes through."""
        self.frozen.set()

    def thaw(self):
        self.frozen.clear()
        for sock in self.held:
            with contextlib.suppress(OSError):
                sock.close()
        self.held.clear()

    def close(self):
        self.stopped = True
        self.thaw()
        self.cut()
        self.listener.close()

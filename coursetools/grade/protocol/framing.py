"""Messages on a grading socket: each one JSON document (``wire.dumps``), prefixed by its
length as 8 bytes, big-endian. Both sides use these two functions and nothing else."""
import struct

from coursetools.grade.protocol import wire

HEADER = struct.Struct(">Q")


def receive(sock):
    """One length-prefixed message from ``sock``, or None at the end of the stream."""
    header = _exactly(sock, HEADER.size)
    if header is None:
        return None
    (size,) = HEADER.unpack(header)
    if size > wire.MAX_MESSAGE_BYTES:
        raise wire.WireError("a request larger than the limit")
    return _exactly(sock, size)


def _exactly(sock, size):
    chunks, left = [], size
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def send(sock, message):
    """``message`` as one length-prefixed JSON message."""
    data = wire.dumps(message)
    sock.sendall(HEADER.pack(len(data)) + data)

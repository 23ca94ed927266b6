"""The load generator of bench/viber.py, in its own process (as Viber's servers would be):
posts signed callbacks over keep-alive connections, a fixed number in flight, and prints each
answer's latency.

It speaks plain HTTP/1.1 on asyncio streams rather than using httpx: at 20 requests in flight
httpx's own per-request overhead (about a millisecond of CPU) would be measured as the bot's.

    python -m bench.viber_load HOST PORT PATH TOKEN CONCURRENCY < bodies.jsonl > latencies.json
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import sys
import time


async def post(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes, body: bytes
) -> int:
    writer.write(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
    await writer.drain()
    header = await reader.readuntil(b"\r\n\r\n")
    lines = header.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = next(
        int(line.split(b":", 1)[1]) for line in lines if line.lower().startswith(b"content-length")
    )
    await reader.readexactly(length)
    return status


async def main(
    host: str, port: int, path: str, token: str, concurrency: int, bodies: list[bytes]
) -> None:
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    results: list[tuple[float, int]] = []
    key = token.encode()

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while not queue.empty():
                body = queue.get_nowait()
                signature = hmac.new(key, body, hashlib.sha256).hexdigest()
                head = (
                    f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                    f"Content-Type: application/json\r\nX-Viber-Content-Signature: {signature}\r\n"
                ).encode()
                started = time.perf_counter()
                status = await post(reader, writer, head, body)
                results.append(((time.perf_counter() - started) * 1000, status))
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    host, port, path, token, concurrency = sys.argv[1:6]
    lines = [line.encode() for line in sys.stdin.read().splitlines() if line]
    asyncio.run(main(host, int(port), path, token, int(concurrency), lines))

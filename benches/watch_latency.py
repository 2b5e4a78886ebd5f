"""Latency from saving brrt.toml (toggling one upstream) to the changed hosts.toml in the node.

Polls the node through the Docker API's archive endpoint (no process started in the node), so
the poll itself costs a few milliseconds. Prints p50 and p95 over the edits.
"""
import http.client
import os
import socket
import statistics
import sys
import time


class UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost")
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.unix_path)


def has_mirror(conn, node, host):
    conn.request("HEAD", f"/containers/{node}/archive?path=/etc/containerd/certs.d/{host}/hosts.toml")
    resp = conn.getresponse()
    resp.read()
    return resp.status == 200


def main():
    config, node, edits, with_quay, without_quay = sys.argv[1:6]
    edits = int(edits)
    sock = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock").removeprefix("unix://")
    conn = UnixHTTP(sock)
    want_quay = has_mirror(conn, node, "quay.io")
    latencies = []
    for _ in range(edits):
        want_quay = not want_quay
        text = open(with_quay if want_quay else without_quay).read()
        start = time.monotonic()
        with open(config, "w") as f:
            f.write(text)
        deadline = start + 10
        while has_mirror(conn, node, "quay.io") != want_quay:
            if time.monotonic() > deadline:
                sys.exit(f"the node did not follow the edit within 10 s")
            time.sleep(0.002)
        latencies.append((time.monotonic() - start) * 1000)
        time.sleep(1.0)  # edits a person makes are seconds apart; let the run finish
    latencies.sort()
    p50 = statistics.median(latencies)
    p95 = latencies[max(0, int(round(0.95 * len(latencies))) - 1)]
    print(f"edits: {len(latencies)}")
    print(f"save -> hosts.toml in node: p50 {p50:.0f} ms, p95 {p95:.0f} ms, max {latencies[-1]:.0f} ms")
    print("targets: p50 <= 300 ms, p95 <= 1000 ms (50 ms batching window included)")


main()

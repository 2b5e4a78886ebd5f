#!/usr/bin/env python3
"""Pushes images of random data into a registry through its HTTP API, for the benches.

Not a bench itself. Each image is `<prefix><n>:1` with one uncompressed tar layer per size
given (random bytes in one file, so nothing compresses), a config whose rootfs lists the
layers, and an OCI image manifest: what `docker build` of `FROM scratch` + `COPY` makes,
without building or compressing anything. Built here, never pulled from the internet.

Usage: push_images.py HOST:PORT PREFIX COUNT SIZE[,SIZE…]
  SIZE is bytes, or with a k/m suffix (KiB, MiB). Prints one `repo:tag` per line.
"""

import hashlib
import http.client
import io
import json
import os
import sys
import tarfile
import tempfile

CHUNK = 1 << 20


def size_of(text):
    text = text.strip().lower()
    for suffix, factor in (("k", 1 << 10), ("m", 1 << 20)):
        if text.endswith(suffix):
            return int(float(text[:-1]) * factor)
    return int(text)


class Registry:
    def __init__(self, address):
        host, port = address.rsplit(":", 1)
        self.host, self.port = host, int(port)

    def request(self, method, path, body=None, headers=None, length=None):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=300)
        headers = dict(headers or {})
        if length is not None:
            headers["Content-Length"] = str(length)
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        if resp.status >= 300:
            raise SystemExit(f"{method} {path}: {resp.status} {data[:300]!r}")
        return resp

    def push_blob(self, repo, path, digest, length):
        resp = self.request("POST", f"/v2/{repo}/blobs/uploads/", length=0)
        location = resp.getheader("Location")
        if location.startswith("http"):
            location = "/" + location.split("/", 3)[3]
        sep = "&" if "?" in location else "?"
        with open(path, "rb") as body:
            self.request(
                "PUT",
                f"{location}{sep}digest={digest}",
                body=body,
                headers={"Content-Type": "application/octet-stream"},
                length=length,
            )

    def push_bytes(self, repo, data):
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        with tempfile.NamedTemporaryFile() as f:
            f.write(data)
            f.flush()
            self.push_blob(repo, f.name, digest, len(data))
        return digest


def layer(directory, index, size):
    """A tar file holding one file of `size` random bytes; its path, digest and length."""
    data = os.path.join(directory, f"data{index}")
    with open(data, "wb") as f:
        left = size
        while left > 0:
            n = min(CHUNK, left)
            f.write(os.urandom(n))
            left -= n
    tar_path = os.path.join(directory, f"layer{index}.tar")
    with tarfile.open(tar_path, "w", format=tarfile.GNU_FORMAT) as tar:
        tar.add(data, arcname=f"layer{index}.bin")
    os.remove(data)
    digest = hashlib.sha256()
    with open(tar_path, "rb") as f:
        while True:
            piece = f.read(CHUNK)
            if not piece:
                break
            digest.update(piece)
    return tar_path, "sha256:" + digest.hexdigest(), os.path.getsize(tar_path)


def main():
    if len(sys.argv) != 5:
        raise SystemExit(__doc__)
    registry = Registry(sys.argv[1])
    prefix, count = sys.argv[2], int(sys.argv[3])
    sizes = [size_of(s) for s in sys.argv[4].split(",")]
    with tempfile.TemporaryDirectory(prefix="brrt-bench-layers.") as work:
        for n in range(1, count + 1):
            repo = f"{prefix}{n}"
            layers = []
            for i, size in enumerate(sizes):
                path, digest, length = layer(work, i, size)
                registry.push_blob(repo, path, digest, length)
                os.remove(path)
                layers.append((digest, length))
            config = json.dumps(
                {
                    "architecture": "amd64",
                    "os": "linux",
                    "config": {"Cmd": ["/layer0.bin"]},
                    "rootfs": {"type": "layers", "diff_ids": [d for d, _ in layers]},
                    "history": [{"created_by": f"brrt bench {repo} layer {i}"} for i in range(len(layers))],
                },
                sort_keys=True,
            ).encode()
            config_digest = registry.push_bytes(repo, config)
            manifest = json.dumps(
                {
                    "schemaVersion": 2,
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": {
                        "mediaType": "application/vnd.oci.image.config.v1+json",
                        "size": len(config),
                        "digest": config_digest,
                    },
                    "layers": [
                        {
                            "mediaType": "application/vnd.oci.image.layer.v1.tar",
                            "size": length,
                            "digest": digest,
                        }
                        for digest, length in layers
                    ],
                }
            ).encode()
            registry.request(
                "PUT",
                f"/v2/{repo}/manifests/1",
                body=io.BytesIO(manifest),
                headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"},
                length=len(manifest),
            )
            print(f"{repo}:1", flush=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Build examples/hello-xnat/image.oci.tar: an OCI archive whose config carries the
org.nrg.commands label made from the command files here. Deterministic (same inputs, same
digests), standard library only, so the bundled example can be rebuilt and checked anywhere.

usage: make-image.py LABEL_FILE OUT.tar   (LABEL_FILE holds the label value, e.g. from
       `xnat-cmd label command.json setup-command.json`)
"""
import gzip, hashlib, io, json, sys, tarfile

REF = "ghcr.io/xnat-cmd/hello-xnat:1.0"


def blob(data):
    return "sha256:" + hashlib.sha256(data).hexdigest(), data


def tar_bytes(files):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def main(label_file, out):
    label = open(label_file, encoding="utf-8").read().strip()
    layer_tar = tar_bytes([("usr/share/hello-xnat/README", b"hello from xnat-cmd's example image\n")])
    layer_gz = gzip.compress(layer_tar, compresslevel=9, mtime=0)
    diff_id = "sha256:" + hashlib.sha256(layer_tar).hexdigest()
    layer_digest, _ = blob(layer_gz)
    config = {
        "created": "1970-01-01T00:00:00Z", "architecture": "amd64", "os": "linux",
        "config": {"Cmd": ["/bin/sh"], "Labels": {
            "org.nrg.commands": label,
            "org.opencontainers.image.title": "hello-xnat",
            "org.opencontainers.image.version": "1.0"}},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": "1970-01-01T00:00:00Z", "created_by": "make-image.py"}],
    }
    cfg_digest, cfg = blob(json.dumps(config, separators=(",", ":"), sort_keys=True).encode())
    manifest = {
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cfg_digest, "size": len(cfg)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer_digest, "size": len(layer_gz)}],
    }
    man_digest, man = blob(json.dumps(manifest, separators=(",", ":"), sort_keys=True).encode())
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": man_digest, "size": len(man),
        "platform": {"architecture": "amd64", "os": "linux"},
        "annotations": {"org.opencontainers.image.ref.name": REF}}]}
    files = [
        ("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'),
        ("index.json", json.dumps(index, separators=(",", ":"), sort_keys=True).encode()),
    ]
    for d, data in sorted([(cfg_digest, cfg), (man_digest, man), (layer_digest, layer_gz)]):
        files.append(("blobs/sha256/" + d.split(":", 1)[1], data))
    with open(out, "wb") as f:
        f.write(tar_bytes(files))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])

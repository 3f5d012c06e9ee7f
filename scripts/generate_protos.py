"""Generates the Python stubs in generated/ from the contracts in protos/."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import grpc_tools
from grpc_tools import protoc

REPO_ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = REPO_ROOT / "protos"
PACKAGE_DOC = '"""Generated protobuf and gRPC stubs of the Agent Registry contracts; do not edit."""\n'


def proto_files() -> list[Path]:
    """Returns every .proto file under protos/, sorted for reproducible output."""
    return sorted(PROTO_ROOT.rglob("*.proto"))


def generate(out_dir: Path) -> None:
    """Writes *_pb2.py, *_pb2_grpc.py, *.pyi and package __init__ files for every contract into out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    well_known = Path(grpc_tools.__file__).parent / "_proto"
    files = [str(path.relative_to(PROTO_ROOT)) for path in proto_files()]
    args = [
        "grpc_tools.protoc",
        f"-I{PROTO_ROOT}",
        f"-I{well_known}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *files,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed; see the messages above")
    for proto in files:
        for package_dir in Path(proto).parents[:-1]:
            (out_dir / package_dir / "__init__.py").write_text(PACKAGE_DOC)


def main() -> None:
    """Regenerates generated/ (or --out) from protos/."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "generated")
    generate(parser.parse_args().out)
    print(f"generated stubs for {len(proto_files())} proto files into the output directory", file=sys.stderr)


if __name__ == "__main__":
    main()

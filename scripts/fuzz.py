"""`make fuzz`: run the decoder properties of `tests/_fuzz_targets.py` for much longer than the test run does.

    .venv/bin/python scripts/fuzz.py [--examples N] [--seed S] [--only NAME ...] [--json PATH]

Each target gets `--examples` inputs from its hypothesis strategy (seeded: the same seed draws the same inputs).
Unlike the property tests, a finding does not stop the campaign: every raw exception (anything but a
`nai_sdk.errors.NovelAIError`, assertion failures of the value checks included) is recorded, grouped by its class and
the line of nai_sdk (or of the check) that raised it, with the shortest input that raised it. The report lists, per
target: the examples run, the time taken, the findings and the exception classes found. Exit status 1 if anything
was found. Runs from any working directory.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# The targets live with the tests (they are test code, in the `tests` namespace package of this checkout).
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402

from nai_sdk.errors import NovelAIError  # noqa: E402
from tests._fuzz_targets import TARGETS, Target, run_limited  # noqa: E402

REPR_LIMIT = 400


@dataclass
class Finding:
    """One kind of raw exception: its class, where it was raised, how often, and the shortest input seen."""

    kind: str
    where: str
    message: str
    example: str
    count: int = 1


@dataclass
class Result:
    name: str
    examples: int = 0
    typed_errors: int = 0
    seconds: float = 0.0
    findings: dict[tuple[str, str], Finding] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "target": self.name,
            "examples": self.examples,
            "typed_errors": self.typed_errors,
            "seconds": round(self.seconds, 2),
            "raw_exception_classes": sorted({finding.kind for finding in self.findings.values()}),
            "findings": [finding.__dict__ for finding in self.findings.values()],
        }


def _where(exc: BaseException) -> str:
    """The innermost frame in nai_sdk or the targets module: what tells two findings of one class apart."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "nai_sdk" in f.filename or f.filename.endswith("_fuzz_targets.py")]
    frame = (ours or frames)[-1]
    try:
        where = str(Path(frame.filename).resolve().relative_to(ROOT))
    except ValueError:
        where = frame.filename
    return f"{where}:{frame.lineno} ({frame.name})"


def _shown(value: Any) -> str:
    try:
        text = repr(value)
    except Exception as exc:  # a report must never fail on a repr
        text = f"<repr failed: {exc.__class__.__name__}>"
    return text if len(text) <= REPR_LIMIT else f"{text[:REPR_LIMIT]}... ({len(text)} characters)"


def run_target(target: Target, examples: int, seed_value: int) -> Result:
    result = Result(target.name)

    @seed(seed_value)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        # Generate only: nothing fails inside hypothesis (findings are recorded), so there is nothing to shrink.
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(target.strategy)
    def campaign(value: Any) -> None:
        result.examples += 1
        try:
            run_limited(target, value)
        except NovelAIError:
            result.typed_errors += 1
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # every other exception is what the campaign looks for
            key = (exc.__class__.__name__, _where(exc))
            shown = _shown(value)
            finding = result.findings.get(key)
            if finding is None:
                result.findings[key] = Finding(key[0], key[1], str(exc)[:200], shown)
            else:
                finding.count += 1
                if len(shown) < len(finding.example):
                    finding.example = shown

    started = time.monotonic()
    campaign()
    result.seconds = time.monotonic() - started
    return result


def report(results: list[Result], seed_value: int) -> str:
    lines = [f"fuzz campaign, seed {seed_value}", ""]
    width = max(len(r.name) for r in results)
    for r in results:
        classes = ", ".join(sorted({f.kind for f in r.findings.values()})) or "none"
        lines.append(
            f"{r.name:<{width}}  {r.examples:>7} examples  {r.typed_errors:>7} typed errors  {r.seconds:7.1f} s  "
            f"raw exceptions: {classes}"
        )
    findings = [(r.name, f) for r in results for f in r.findings.values()]
    lines.append("")
    if not findings:
        lines.append("no raw exceptions")
    for name, f in findings:
        lines += [
            f"FINDING {name}: {f.kind} at {f.where}, {f.count} time(s)",
            f"  message: {f.message}",
            f"  shortest input: {f.example}",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=5000, help="inputs per target (default 5000)")
    parser.add_argument("--seed", type=int, default=0, help="hypothesis seed (default 0)")
    names = [target.name for target in TARGETS]
    parser.add_argument("--only", action="append", choices=names, metavar="NAME", help=f"one of: {', '.join(names)}")
    parser.add_argument("--json", type=Path, help="also write the report as JSON here")
    args = parser.parse_args(argv)
    chosen = [target for target in TARGETS if not args.only or target.name in args.only]
    results = []
    for target in chosen:
        print(f"... {target.name}", flush=True)
        results.append(run_target(target, args.examples, args.seed))
    print(report(results, args.seed))
    if args.json is not None:
        payload = {"seed": args.seed, "examples_per_target": args.examples, "targets": [r.as_json() for r in results]}
        args.json.write_text(json.dumps(payload, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return 1 if any(r.findings for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())

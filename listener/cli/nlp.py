"""`undertow nlp train | evaluate`: reproduce and report the bundled sentiment model.

The shared data folder comes from the settings (UNDERTOW_SHARED_DATA, also from .env) or
`--data-dir`; `nlp/` is a library and takes it as an argument.
"""

from __future__ import annotations

import json
from dataclasses import fields, replace
from pathlib import Path

import click

from listener.cli.edge import Context, pass_ctx
from listener.errors import ConfigError

__all__ = ["COMMANDS", "nlp"]

_DATA_DIR_HELP = "Shared data folder (default: UNDERTOW_SHARED_DATA, else ../shared/data)."


def _shared(ctx: Context, data_dir: Path | None, needs: str, what: str) -> Path:
    shared = data_dir or ctx.settings.shared_data
    if not (shared / needs).is_file():
        raise ConfigError(f"No {what} under {shared} (it needs {needs}): point "
                          "UNDERTOW_SHARED_DATA or --data-dir at the shared data folder"
                          + (", or evaluate on your own file with --data CSV"
                             if what == "held-out data" else ""))
    return shared


@click.group()
def nlp() -> None:
    """Train and evaluate the bundled sentiment model."""


def _train_options(command):
    """One option per tunable TrainConfig field, typed and defaulted from the dataclass."""
    from nlp.train_config import OPTION_HELP, TrainConfig

    defaults = TrainConfig()
    for f in reversed([f for f in fields(TrainConfig) if f.name in OPTION_HELP]):
        value = getattr(defaults, f.name)
        kind = float if isinstance(value, float) else int
        command = click.option(f"--{f.name.replace('_', '-')}", f.name, type=kind,
                               default=value, show_default=value is not None,
                               help=OPTION_HELP[f.name][:1].upper() + OPTION_HELP[f.name][1:]
                               + ".")(command)
    return command


@nlp.command("train")
@click.option("--data-dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help=_DATA_DIR_HELP)
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Artefact folder (default: the bundled model's folder, which it replaces).")
@_train_options
@click.option("--weights-dtype", type=click.Choice(["int8", "fp16"]), default="int8",
              show_default=True,
              help="Storage of the trained matrices (int8: per-row scales, half the size).")
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda.")
@pass_ctx
def nlp_train(ctx: Context, data_dir: Path | None, out: Path | None, **options) -> None:
    """Reproduce the bundled model (seeded): minutes on a GPU, hours on a CPU."""
    from nlp.train import TrainConfig, train

    shared = _shared(ctx, data_dir, "sentiment/semeval_2013_2016.csv", "training data")
    cfg = replace(TrainConfig(), **options, **({"out": out} if out else {}))
    record = train(cfg, shared)
    dev = record["dev"]
    click.echo(f"Trained in {record['minutes']} min; airline dev macro-F1 "
               f"{dev['airline_dev']['macro_f1']:.3f}, SemEval dev macro-recall "
               f"{dev['semeval_dev']['macro_recall']:.3f}; wrote {cfg.out}")


@nlp.command("evaluate")
@click.option("--model", default=None,
              help="Hugging Face id or folder (default: the bundled model).")
@click.option("--data", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              default=None, help="Any CSV with text and label (negative/neutral/positive) columns.")
@click.option("--split", type=click.Choice(["airline-test", "airline-dev", "semeval-dev"]),
              default="airline-test", show_default=True,
              help="Held-out split of the shared data (when no --data).")
@click.option("--data-dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help=_DATA_DIR_HELP)
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the first N.")
@click.option("--batch-size", type=click.IntRange(min=1), default=64, show_default=True)
@click.option("--threads", type=click.IntRange(min=1), default=None, help="CPU threads.")
@click.option("--int8", is_flag=True, help="int8 dynamic quantisation of the model.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_ctx
def nlp_evaluate(ctx: Context, model: str | None, data: Path | None, split: str,
                 data_dir: Path | None, limit: int | None, batch_size: int,
                 threads: int | None, int8: bool, as_json: bool) -> None:
    """Report accuracy, macro-F1 and macro-recall on held-out data (or your own CSV)."""
    from listener.jobs.score import load_scorer
    from nlp.evaluate import evaluate, load_examples, render_report

    shared = data_dir or ctx.settings.shared_data
    if data is None:
        shared = _shared(ctx, data_dir, "airline/Tweets.csv", "held-out data")
    try:
        examples = load_examples(data, split, shared, limit)
    except ValueError as exc:  # a CSV without text/label columns
        raise ConfigError(f"--data: {exc}") from None
    if not examples:
        raise ConfigError("No labelled rows to evaluate (labels must be negative, neutral or "
                          "positive)")
    scorer = load_scorer(model, threads=threads, int8=int8, batch_size=batch_size)
    report = evaluate(lambda texts: [s.label for s in scorer.score(texts)], examples)
    report["model_version"] = scorer.model_version
    report["data"] = str(data) if data else split
    if as_json:
        click.echo(json.dumps(report))
    else:
        click.echo(render_report(f"{scorer.model_version} on {report['data']}", report))


COMMANDS = [nlp]

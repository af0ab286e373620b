"""``townsquare bench voice`` (see ``voice.py``)."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer, bench: typer.Typer) -> None:
    @bench.command("voice")
    def bench_voice(
        requests: int = typer.Option(200, min=1, help="Spoken requests in the round trip (dev-half phrasings)."),
        runs: int = typer.Option(10, min=1, help="Timed runs of the latency request (after one warm-up)."),
        phrase: str = typer.Option("Catch me up.", help="The short request whose latency is measured."),
        tasks: int = typer.Option(0, min=0, help="Also run this many English assistant tasks typed and spoken "
                                                 "(0: skip; slow with the embedded model)."),
        split: str = typer.Option("dev", help="The assistant benchmark half for --tasks: dev or test."),
        people: int = typer.Option(150, help="Size of the seeded community."),
        seed: int = typer.Option(7, help="Seed of the community."),
        json_path: Path = typer.Option(None, "--json", help="Write the rows as JSON here."),
    ) -> None:
        """Hands-free mode: speech-to-text WER (round trip of our own speech), latency from the end of
        speech to the first audio of the reply with its breakdown, and task success spoken vs typed."""
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        from townsquare.bench import voice as vb
        from townsquare.bench.assistant_world import build_world
        from townsquare.bench.report import report, scratch_database
        from townsquare.commands import fail
        from townsquare.llm.runtime import get_llm
        from townsquare.safety.shields import default_shield
        from townsquare.social.models import Account
        from townsquare.voice import engines, vocabulary

        if split not in ("dev", "test"):
            raise fail("--split is dev or test")
        import os

        load_at_start = round(os.getloadavg()[0], 2)
        console = Console()
        rows: list[dict] = [{"name": "recorded speech WER", "result": vb.NO_RECORDED_SAMPLE, "metrics": {}}]
        with scratch_database("townsquare-bench-voice-") as (settings, db):
            console.print(f"seeding {people} people ...")
            world = build_world(settings, db, people, seed)
            transcriber, voice = engines.transcriber(), engines.voice(settings.voice_tts)
            llm, shield = get_llm("assistant", settings), default_shield(settings)
            with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                          console=console) as progress:
                spoken = vb.requests_from_dev(world, requests)
                bar = progress.add_task("round trip (TTS -> ASR)", total=len(spoken))
                with db.session() as s:
                    hotwords = vocabulary.for_account(s, s.get(Account, world.demo_id))
                utterances = vb.round_trip(spoken, voice, transcriber, hotwords, lambda: progress.advance(bar))
                bar = progress.add_task(f"latency of {phrase!r}", total=runs + 1)
                timed = vb.latency(db, world, settings, llm, shield, voice, transcriber, phrase=phrase, runs=runs,
                                   progress=lambda: progress.advance(bar))
                task_rows = []
                if tasks:
                    bar = progress.add_task("assistant tasks, typed and spoken", total=2 * tasks)
                    task_rows = vb.task_success(db, world, settings, llm, shield, voice, transcriber, split=split,
                                                limit=tasks, progress=lambda: progress.advance(bar))
        trip = vb.wer_row("round trip WER: Piper joe -> Whisper tiny.en, dev-half requests", utterances)
        trip["config"] = {"tts": f"piper {settings.voice_tts}", "asr": f"faster-whisper tiny.en int8, beam {transcriber.beam_size}, the person's vocabulary as hotwords",
                          "source": "assistant_dev.jsonl, English, slots filled from the seeded community"}
        trip["worst"] = [{"said": u.said, "heard": u.heard, "errors": u.errors}
                         for u in sorted(utterances, key=lambda u: -u.errors / max(u.n, 1))[:10]]
        styles = sorted({u.style for u in utterances})
        # Requests typed with misspellings ("folow", "serch") are read aloud as spelled: no one speaks so.
        spoken = vb.wer_row("  without the typos style (misspellings read aloud)",
                            [u for u in utterances if u.style != "typos"])
        wer_rows = [trip, spoken,
                    *[vb.wer_row(f"  style {s}", [u for u in utterances if u.style == s]) for s in styles]]
        latency_rows = [timed.row(f"{phrase!r}, {llm.name}", phrase)]
        console.print(f"recorded speech WER: {vb.NO_RECORDED_SAMPLE}")
        report("Speech to text: round trip WER (our TTS -> ASR)", wer_rows, None, console)
        report("Latency: end of speech -> first reply audio (seconds)", latency_rows, None, console)
        if task_rows:
            report("Assistant task success, typed vs spoken", task_rows, None, console)
        console.print("worst round trips:")
        for w in trip["worst"][:5]:
            console.print(f"  said {w['said']!r}\n  heard {w['heard']!r}")
        if json_path is not None:
            import json

            machine = {"cpus": os.cpu_count(), "load_average_1m_at_start": load_at_start,
                       "load_average_1m_at_end": round(os.getloadavg()[0], 2)}
            for row in [*wer_rows, *latency_rows, *task_rows]:
                row["machine"] = machine
            json_path.parent.mkdir(parents=True, exist_ok=True)
            json_path.write_text(json.dumps(rows + wer_rows + latency_rows + task_rows, indent=2))
            console.print(f"wrote {json_path}")

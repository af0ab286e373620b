"""Teach the bundled SmolLM2-135M-Instruct the app's tasks: data, LoRA fine-tune, merge, GGUF, register.

Read top to bottom:

1. ``LLMDistillConfig``: the knobs.
2. Data: ``llm_data.build_examples`` (by construction), answered by a remote teacher when one is
   configured (OpenAI-compatible; its answer is kept only where it checks out), split into a
   training set and a held-out set of the same generator (another seed).
3. ``load_base``: the bundled GGUF through transformers' GGUF support (dequantised to float32).
4. ``train_lora``: LoRA adapters (PEFT) on every attention and MLP projection; the loss is on the
   answer tokens only. An adapter checkpoint every ``save_every`` steps: a stopped run resumes.
5. ``merge_and_save``: the adapters merged into the weights, saved in Hugging Face format.
6. ``find_converter`` / ``convert_to_gguf``: llama.cpp's ``convert_hf_to_gguf.py``. It ships in the
   llama-cpp-python source distribution (``vendor/llama.cpp``), which pip downloads from PyPI
   (``pip download --no-binary``); the extracted converter is cached. ``TOWNSQUARE_GGUF_CONVERTER``
   names a converter script of your own instead.
7. ``evaluate_gguf``: the held-out examples through the embedded llama.cpp backend, greedy, no
   grammar, before (bundled model) and after (exported GGUF).
8. ``register``: ``<models_dir>/llm/<name>/`` with ``model.gguf``, ``manifest.json``, the training set and
   ``MODEL_CARD.md``, written in a temporary folder and renamed; select it with
   ``TOWNSQUARE_ASSISTANT_MODEL=<that folder>/model.gguf`` (or ``creator_model``).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from townsquare.distill.llm_data import Example, answer_with_teacher, build_examples, check_answer
from townsquare.errors import InvalidInput, Unavailable

LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
CONVERTER_ENV = "TOWNSQUARE_GGUF_CONVERTER"


# ---------------------------------------------------------------------------------------------
# 1. Configuration.

@dataclass
class LLMDistillConfig:
    steps: int = 300
    examples: int = 600
    eval_examples: int = 40
    teacher_url: str | None = None
    teacher_model: str | None = None
    name: str | None = None
    lora_rank: int = 16
    lora_alpha: int = 32
    # LoRA on the last N transformer blocks only (0 = all): the backward pass stops at the first
    # adapted block, which makes a CPU step several times cheaper.
    lora_layers: int = 8
    lr: float = 1e-3
    batch_size: int = 8
    max_tokens: int = 384          # longer examples are cut (from the left of the prompt, never the answer)
    max_minutes: float | None = None
    threads: int = 2
    seed: int = 0
    data_only: bool = False
    outtype: str = "q8_0"          # GGUF tensor type: q8_0 (small, near-lossless), f16, f32
    save_every: int = 25
    evaluate: bool = True
    device: str = "auto"           # "auto": CUDA when torch sees a GPU, else the CPU


def llm_models_dir(settings) -> Path:
    return Path(settings.models_dir) / "llm"


# ---------------------------------------------------------------------------------------------
# 2. Data.

def teacher_ask(url: str, model: str, api_key: str = "", timeout_s: float = 60.0) -> Callable[[list[dict]], str]:
    """A function that asks the teacher (OpenAI-compatible chat completions) for one answer."""
    from townsquare.llm.remote import RemoteLLM

    remote = RemoteLLM(url, model, api_key, timeout_s=timeout_s, max_retries=1)
    try:
        remote.chat([{"role": "user", "content": "Say OK."}], max_tokens=4, temperature=0.0)
    except Exception as exc:  # unreachable, wrong model, bad key: one clear line
        raise Unavailable(f"the teacher at {url} does not answer ({exc.__class__.__name__}: "
                          f"{str(exc).splitlines()[0][:200] if str(exc) else ''})")

    def ask(messages: list[dict]) -> str:
        try:
            return remote.chat(messages, max_tokens=256, temperature=0.0).text
        except Exception:
            return ""  # this example keeps its constructed answer
    return ask


def build_data(cfg: LLMDistillConfig, settings, log: Callable[[str], None] | None = None
               ) -> tuple[list[Example], list[Example], dict]:
    """(train, held-out, info). The held-out set comes from the same generator with another seed."""
    if cfg.examples < 1:
        raise InvalidInput("--examples must be at least 1")
    train = build_examples(cfg.examples, seed=cfg.seed)
    held = build_examples(cfg.eval_examples, seed=cfg.seed + 10_000)
    url = cfg.teacher_url or (settings.llm_base_url if settings.llm_backend == "remote" else "")
    info = {"examples": len(train), "held_out": len(held), "teacher": None,
            "kinds": {k: sum(e.kind == k for e in train) for k in sorted({e.kind for e in train})}}
    if url:
        model = cfg.teacher_model or settings.llm_model
        if not model:
            raise InvalidInput("a teacher URL needs a model name (--teacher-model)")
        kept = answer_with_teacher(train, teacher_ask(url, model, settings.llm_api_key, settings.llm_timeout_s), log)
        info["teacher"] = {"url": url, "model": model, "answers_kept": kept}
    else:
        info["teacher"] = "none: answers checked by construction"
    return train, held, info


# ---------------------------------------------------------------------------------------------
# 3-5. Model, LoRA, merge.

def load_base(gguf_path: Path):
    """(model, tokenizer) from a GGUF file, dequantised to float32 (transformers + gguf)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, name = str(gguf_path.parent), gguf_path.name
    tok = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    return model, tok


def encode(tok, ex: Example, max_tokens: int) -> tuple[list[int], list[int]]:
    """Token ids of prompt + answer and labels (-100 on the prompt: only the answer is learned)."""
    prompt = tok.apply_chat_template(ex.messages, add_generation_prompt=True, tokenize=False)
    answer = ex.target + "<|im_end|>\n"
    p = tok(prompt, add_special_tokens=False)["input_ids"]
    a = tok(answer, add_special_tokens=False)["input_ids"]
    p = p[-max(1, max_tokens - len(a)):]
    return p + a, [-100] * len(p) + a


def _collate(rows: list[tuple[list[int], list[int]]], pad: int):
    """Left-padded batch: every row's answer ends at the last column, so the output layer runs on the
    last ``keep`` columns only (the answers), not on the prompts."""
    import torch

    n = max(len(i) for i, _ in rows)
    ids = torch.full((len(rows), n), pad, dtype=torch.long)
    labels = torch.full((len(rows), n), -100, dtype=torch.long)
    mask = torch.zeros((len(rows), n), dtype=torch.long)
    for r, (i, lab) in enumerate(rows):
        ids[r, n - len(i):] = torch.tensor(i)
        labels[r, n - len(lab):] = torch.tensor(lab)
        mask[r, n - len(i):] = 1
    keep = int((labels != -100).any(0).long().flip(0).cumprod(0).sum()) + 1  # answer columns + the one before
    return ids, labels, mask, min(keep, n)


def answer_loss(model, ids, labels, mask, keep: int):
    """Next-token cross-entropy on the answer tokens; logits only for the last ``keep`` columns."""
    import torch.nn.functional as F

    positions = (mask.cumsum(1) - 1).clamp(min=0)  # left padding: positions count real tokens
    logits = model(input_ids=ids, attention_mask=mask, position_ids=positions, logits_to_keep=keep).logits
    targets = labels[:, -keep:][:, 1:]
    return F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]).float(), targets.reshape(-1),
                           ignore_index=-100)


def train_lora(model, tok, examples: list[Example], cfg: LLMDistillConfig, work_dir: Path,
               log: Callable[[str], None] | None = None) -> tuple[object, dict]:
    """LoRA fine-tuning; returns (peft model, stats). Resumes from ``work_dir/adapter`` when it is there."""
    import random

    import torch
    from peft import LoraConfig, PeftModel, get_peft_model
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    torch.manual_seed(cfg.seed)
    adapter, state_file = work_dir / "adapter", work_dir / "state.json"
    done = 0
    if adapter.exists() and state_file.exists():
        model = PeftModel.from_pretrained(model, str(adapter), is_trainable=True)
        done = json.loads(state_file.read_text())["step"]
        if log:
            log(f"resuming LoRA training after step {done}")
    else:
        n_layers = model.config.num_hidden_layers
        layers = list(range(max(0, n_layers - cfg.lora_layers), n_layers)) if cfg.lora_layers else None
        model = get_peft_model(model, LoraConfig(r=cfg.lora_rank, lora_alpha=cfg.lora_alpha, lora_dropout=0.0,
                                                 target_modules=LORA_TARGETS, layers_to_transform=layers,
                                                 task_type="CAUSAL_LM"))
    device = pick_device(cfg.device)
    model.to(device)
    encoded = [encode(tok, ex, cfg.max_tokens) for ex in examples]
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=cfg.lr, weight_decay=0.0)
    warmup = max(1, min(20, cfg.steps // 10))

    def lr_at(step: int) -> float:  # linear warm-up, cosine decay
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, cfg.steps - warmup)))

    rng = random.Random(cfg.seed)
    order: list[int] = []
    for _ in range(done):  # the same batches as an uninterrupted run
        order = _next_batch(order, rng, len(encoded), cfg.batch_size)[1]
    model.train()
    losses: list[float] = []
    tokens = 0
    start = time.monotonic()
    deadline = start + cfg.max_minutes * 60 if cfg.max_minutes else math.inf
    step = done
    with Progress(TextColumn("[bold]LoRA"), BarColumn(), TextColumn("{task.completed}/{task.total} {task.fields[info]}"),
                  TimeElapsedColumn()) as progress:
        task = progress.add_task("lora", total=cfg.steps, completed=done, info="")
        while step < cfg.steps and time.monotonic() < deadline:
            batch, order = _next_batch(order, rng, len(encoded), cfg.batch_size)
            ids, labels, mask, keep = (t.to(device) if hasattr(t, "to") else t
                                       for t in _collate([encoded[i] for i in batch], pad))
            for g in opt.param_groups:
                g["lr"] = cfg.lr * lr_at(step)
            loss = answer_loss(model, ids, labels, mask, keep)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 1.0)
            opt.step()
            step += 1
            tokens += int(mask.sum())
            losses.append(loss.item())
            info = f"loss {sum(losses[-10:]) / len(losses[-10:]):.3f}"
            progress.update(task, completed=step, info=info)
            if log and (step % 5 == 0 or step == 1):  # a line now and then for logs that are files
                log(f"LoRA step {step}/{cfg.steps}: {info} [{time.monotonic() - start:.0f}s]")
            if step % cfg.save_every == 0 or step == cfg.steps:
                model.save_pretrained(str(adapter))
                state_file.write_text(json.dumps({"step": step}))
    model.save_pretrained(str(adapter))
    state_file.write_text(json.dumps({"step": step}))
    model.to("cpu")  # merged and exported on the CPU
    stats = {"steps": step, "resumed_from_step": done, "device": str(device),
             "seconds": round(time.monotonic() - start, 1),
             "tokens": tokens, "first_loss": losses[0] if losses else None,
             "last_loss_mean10": sum(losses[-10:]) / len(losses[-10:]) if losses else None,
             "stopped": "steps" if step >= cfg.steps else "time budget"}
    return model, stats


def pick_device(name: str):
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise InvalidInput("--device cuda: torch sees no GPU here")
    return torch.device(name)


def _next_batch(order: list[int], rng, n: int, size: int) -> tuple[list[int], list[int]]:
    """The next ``size`` examples of a shuffled pass (a new shuffle when one runs out)."""
    batch = []
    while len(batch) < min(size, n):
        if not order:
            order = list(range(n))
            rng.shuffle(order)
        batch.append(order.pop())
    return batch, order


def merge_and_save(peft_model, tok, out_dir: Path) -> Path:
    """Merge the adapters into the weights and save the model in Hugging Face format."""
    merged = peft_model.merge_and_unload()
    merged.config.quantization_config = None  # the weights are plain float32 now
    if hasattr(merged, "hf_quantizer"):
        merged.hf_quantizer = None
    merged.save_pretrained(str(out_dir))
    tok.save_pretrained(str(out_dir))
    cfg_file = out_dir / "config.json"
    cfg = json.loads(cfg_file.read_text())
    cfg.pop("quantization_config", None)
    cfg_file.write_text(json.dumps(cfg, indent=2))
    return out_dir


# ---------------------------------------------------------------------------------------------
# 6. GGUF export.

def _converter_cache() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "townsquare" / "gguf-converter"


def find_converter(log: Callable[[str], None] | None = None, download: bool = True) -> Path:
    """Path of ``convert_hf_to_gguf.py`` (with its ``conversion`` and ``gguf-py`` folders beside it)."""
    own = os.environ.get(CONVERTER_ENV)
    if own:
        if not Path(own).is_file():
            raise Unavailable(f"{CONVERTER_ENV}={own}: no such file")
        return Path(own)
    import llama_cpp

    version = llama_cpp.__version__
    folder = _converter_cache() / version
    script = folder / "convert_hf_to_gguf.py"
    if script.is_file():
        return script
    if not download:
        raise Unavailable("no GGUF converter: llama.cpp's convert_hf_to_gguf.py is not cached")
    if log:
        log(f"fetching llama.cpp's converter from the llama-cpp-python {version} source distribution (pip)")
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run([sys.executable, "-m", "pip", "download", f"llama-cpp-python=={version}", "--no-deps",
                               "--no-binary", ":all:", "-d", tmp], capture_output=True, text=True)
        archives = sorted(Path(tmp).glob("llama_cpp_python-*.tar.gz"))
        if not archives:
            raise Unavailable("no GGUF converter: llama.cpp's convert_hf_to_gguf.py ships only in the "
                              f"llama-cpp-python {version} source distribution, and pip could not download it "
                              f"({(proc.stderr.strip().splitlines() or ['no output'])[-1][:200]}); set "
                              f"{CONVERTER_ENV} to a convert_hf_to_gguf.py from llama.cpp")
        prefix = f"{archives[0].name[:-len('.tar.gz')]}/vendor/llama.cpp/"
        wanted = ("convert_hf_to_gguf.py", "conversion/", "gguf-py/")
        staging = folder.with_name(folder.name + f".tmp{os.getpid()}")
        shutil.rmtree(staging, ignore_errors=True)
        with tarfile.open(archives[0]) as tar:
            members = [m for m in tar.getmembers() if m.name.startswith(prefix)
                       and m.name[len(prefix):].startswith(wanted) and (m.isfile() or m.isdir())]
            for m in members:
                m.name = m.name[len(prefix):]
            tar.extractall(staging, members=members, filter="data")
        if not (staging / "convert_hf_to_gguf.py").is_file():
            shutil.rmtree(staging, ignore_errors=True)
            raise Unavailable(f"llama-cpp-python {version}'s source distribution has no convert_hf_to_gguf.py")
        folder.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(folder, ignore_errors=True)
        os.rename(staging, folder)
    return script


def convert_to_gguf(hf_dir: Path, out_file: Path, outtype: str, converter: Path) -> Path:
    """Run llama.cpp's converter; raise InvalidInput with its last error line when it fails."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(converter.parent / "gguf-py"),
                                                        os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, str(converter), str(hf_dir), "--outfile", str(out_file),
                           "--outtype", outtype], capture_output=True, text=True, env=env)
    if proc.returncode != 0 or not out_file.is_file():
        lines = [ln for ln in (proc.stderr + proc.stdout).strip().splitlines() if ln.strip()]
        raise InvalidInput(f"the GGUF conversion failed: {lines[-1][:300] if lines else 'no output'}")
    return out_file


# ---------------------------------------------------------------------------------------------
# 7. Evaluation through the embedded backend.

def evaluate_gguf(path: Path, examples: list[Example], threads: int = 2) -> dict[str, float]:
    """Share of ``examples`` answered right (``check_answer``), per kind and overall: greedy, no grammar."""
    from townsquare.llm.embedded import EmbeddedLLM

    llm = EmbeddedLLM(path, n_ctx=2048, n_threads=threads, queue_size=1)
    right: dict[str, list[bool]] = {}
    try:
        for ex in examples:
            text = llm.chat(ex.messages, max_tokens=160, temperature=0.0).text
            right.setdefault(ex.kind, []).append(check_answer(ex, text))
    finally:
        close = getattr(llm, "close", None)
        if close:
            close()
    out = {f"right_{k}": sum(v) / len(v) for k, v in sorted(right.items())}
    out["right_all"] = sum(sum(v) for v in right.values()) / max(1, sum(len(v) for v in right.values()))
    return out


def smoke_test(path: Path) -> str:
    """One short reply from the exported file, or InvalidInput: a GGUF that does not load is not registered."""
    from townsquare.llm.embedded import EmbeddedLLM

    try:
        text = EmbeddedLLM(path, n_ctx=512, n_threads=1, queue_size=1).chat(
            [{"role": "user", "content": "Say hello."}], max_tokens=8, temperature=0.0).text
    except Exception as exc:
        raise InvalidInput(f"the exported GGUF does not load: {exc.__class__.__name__}: {str(exc)[:200]}")
    return text


# ---------------------------------------------------------------------------------------------
# 8. The whole run.

def run_llm_distill(settings, cfg: LLMDistillConfig, log: Callable[[str], None] | None = None) -> dict:
    """Data -> LoRA -> merge -> GGUF -> check -> register. Returns the manifest."""
    import torch

    from townsquare.distill.card import model_card
    from townsquare.llm.embedded import bundled_model_path

    if cfg.steps < 1 or cfg.batch_size < 1:
        raise InvalidInput("--steps and --batch-size must be at least 1")
    if cfg.outtype not in ("q8_0", "f16", "f32", "bf16"):
        raise InvalidInput("outtype must be q8_0, f16, bf16 or f32")
    root = llm_models_dir(settings)
    name = cfg.name or "smollm2-135m-townsquare-" + datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    if "/" in name or name.startswith(".") or not name.strip():
        raise InvalidInput(f"bad model name {name!r}")
    if (root / name).exists():
        raise InvalidInput(f"a model named {name!r} is registered already ({root / name})")
    train, held, data_info = build_data(cfg, settings, log)
    work = Path(settings.data_dir) / "distill" / "llm" / name  # checkpoints of this run (resume)
    work.mkdir(parents=True, exist_ok=True)
    (work / "train.jsonl").write_text("".join(json.dumps(e.to_dict(), ensure_ascii=False) + "\n" for e in train))
    if cfg.data_only:
        return {"name": name, "data": data_info, "train_file": str(work / "train.jsonl")}
    converter = find_converter(log)  # before hours of training: fail early when there is none
    base = bundled_model_path()
    torch.set_num_threads(max(1, cfg.threads))
    if log:
        log(f"loading {base.name} through transformers' GGUF support")
    model, tok = load_base(base)
    peft_model, stats = train_lora(model, tok, train, cfg, work, log)
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".tmp-{name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        hf_dir = merge_and_save(peft_model, tok, Path(tempfile.mkdtemp(prefix="ts-merged-", dir=work)))
        if log:
            log("converting to GGUF with llama.cpp's convert_hf_to_gguf.py")
        convert_to_gguf(hf_dir, tmp / "model.gguf", cfg.outtype, converter)
        shutil.rmtree(hf_dir, ignore_errors=True)
        smoke_test(tmp / "model.gguf")
        metrics = {}
        if cfg.evaluate and held:
            if log:
                log(f"evaluating base and distilled on {len(held)} held-out generated examples (no grammar)")
            metrics = {"base": evaluate_gguf(base, held, cfg.threads),
                       "distilled": evaluate_gguf(tmp / "model.gguf", held, cfg.threads)}
        manifest = {"format": "townsquare.llm.distilled/1", "name": name,
                    "created_at": datetime.now(UTC).isoformat(), "base": base.name, "config": asdict(cfg),
                    "data": data_info, "training": {**stats, "threads": cfg.threads},
                    "metrics": metrics, "gguf": {"outtype": cfg.outtype, "converter": str(converter)}}
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
        (tmp / "train.jsonl").write_text((work / "train.jsonl").read_text())
        card = model_card(
            title=f"{name}: SmolLM2-135M-Instruct taught Townsquare's tasks",
            summary="The bundled SmolLM2-135M-Instruct fine-tuned with LoRA (merged) on examples of the app's own "
                    "tasks: tool arguments over the assistant's real tool schemas, plain-text tool calls, grounded "
                    "creator replies and catch-up summaries.",
            model={"base": base.name, "format": f"GGUF ({cfg.outtype})", "LoRA": f"rank {cfg.lora_rank}, alpha "
                   f"{cfg.lora_alpha}, on {', '.join(LORA_TARGETS)} of the "
                   f"{'last ' + str(cfg.lora_layers) if cfg.lora_layers else 'all'} blocks (merged)"},
            data={**{k: v for k, v in data_info.items() if k != "teacher"},
                  "source": "generated by construction (townsquare/distill/llm_data.py); no benchmark tasks"},
            training={**stats, "lr": cfg.lr, "batch_size": cfg.batch_size, "threads": cfg.threads},
            teacher={"teacher": data_info["teacher"]},
            metrics={k: v for k, v in metrics.items()},
            usage=f"TOWNSQUARE_ASSISTANT_MODEL={root / name / 'model.gguf'} (or creator_model) selects it.",
            notes=["Held-out metrics are on generated examples of the same generator (another seed), greedy, "
                   "without the tool layer's grammar; the assistant benchmark measures it through the app."])
        (tmp / "MODEL_CARD.md").write_text(card)
        os.rename(tmp, root / name)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    manifest["path"] = str(root / name / "model.gguf")
    return manifest


def list_llm_models(settings) -> list[dict]:
    root = llm_models_dir(settings)
    out = []
    for p in sorted(root.glob("*/manifest.json")) if root.exists() else []:
        try:
            m = json.loads(p.read_text())
        except (OSError, ValueError):
            continue
        out.append({"name": m.get("name", p.parent.name), "path": str(p.parent / "model.gguf"),
                    "created_at": m.get("created_at"), "metrics": m.get("metrics", {})})
    return out

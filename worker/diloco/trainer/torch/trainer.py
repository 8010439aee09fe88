"""PyTorch backend of the DiLoCoX inner loop, driven by worker/diloco/trainer/torch-trainer.ts.

Protocol (stdin → requests, stdout → replies; stderr is free text for logs). Every message is a frame:
    u32 LE header length | header (UTF-8 JSON) | the buffers listed in header["buffers"], in order,
    each {"name", "bytes"} raw little-endian bytes.
Requests: init, train, eval, logits, shutdown. A reply is {"ok": true, ...} or {"ok": false, "error": "..."}.

The model, initialisation (done by the caller: parameters arrive as a flat float32 vector), batch
order (window offsets arrive per step), AdamW and learning-rate schedule (per-step scalars arrive from
the caller) are those of the jax-js trainer (worker/diloco/model/*.ts, trainer/adamw.ts): the same
formulas in the same order, so losses agree to float32 rounding (test/diloco/torch-trainer.test.ts).
"""
import json
import hashlib
import math
import os
import struct
import sys

import numpy as np
import torch

STDIN = sys.stdin.buffer
STDOUT = sys.stdout.buffer
LN_EPS = 1e-5
LLAMA_EPS = 1e-5
CLIP_EPS = 1e-6
GELU_C = math.sqrt(2 / math.pi)


def read_exact(n):
    out = bytearray()
    while len(out) < n:
        chunk = STDIN.read(n - len(out))
        if not chunk:
            raise EOFError("pipe closed")
        out += chunk
    return bytes(out)


def read_msg():
    (hl,) = struct.unpack("<I", read_exact(4))
    header = json.loads(read_exact(hl).decode("utf-8"))
    bufs = {}
    for b in header.get("buffers", []):
        bufs[b["name"]] = read_exact(b["bytes"])
    return header, bufs


def write_msg(header, bufs=None):
    bufs = bufs or []
    header = dict(header)
    header["buffers"] = [{"name": n, "bytes": len(b)} for n, b in bufs]
    h = json.dumps(header).encode("utf-8")
    STDOUT.write(struct.pack("<I", len(h)))
    STDOUT.write(h)
    for _, b in bufs:
        STDOUT.write(b)
    STDOUT.flush()


class Model:
    def __init__(self, cfg, layout, device, rope):
        self.cfg = cfg
        self.layout = layout
        self.device = device
        self.llama = cfg.get("family", "gpt2") == "llama"
        self.tied = bool(cfg.get("tieEmbeddings", False))
        self.decay = [t["kind"] == "matrix" for t in layout]
        self.size = sum(t["size"] for t in layout)
        if self.llama:
            dh = cfg["dModel"] // cfg["nHeads"]
            T = cfg["contextLength"]
            self.cos = torch.from_numpy(np.frombuffer(rope["cos"], dtype="<f4").reshape(T, dh).copy()).to(device)
            self.sin = torch.from_numpy(np.frombuffer(rope["sin"], dtype="<f4").reshape(T, dh).copy()).to(device)

    def unflatten(self, flat):
        return [flat[t["offset"]: t["offset"] + t["size"]].view(*t["shape"]) for t in self.layout]

    def flatten(self, tensors):
        return torch.cat([t.reshape(-1) for t in tensors])

    # ---- forward, mirroring worker/diloco/model/transformer.ts and llama.ts
    def logits(self, ps, x):
        return self.llama_logits(ps, x) if self.llama else self.gpt2_logits(ps, x)

    @staticmethod
    def layer_norm(x, g, b):
        mu = x.mean(-1, keepdim=True)
        xc = x - mu
        var = (xc * xc).mean(-1, keepdim=True)
        return xc * torch.reciprocal(torch.sqrt(var + LN_EPS)) * g + b

    @staticmethod
    def rms_norm(x, g):
        ms = (x * x).mean(-1, keepdim=True)
        return x * torch.reciprocal(torch.sqrt(ms + LLAMA_EPS)) * g

    def causal(self, q, k, v, B, T, H, dh):
        mask = (torch.tril(torch.ones(T, T, device=self.device)) - 1) * 1e30
        scores = torch.matmul(q * (1 / math.sqrt(dh)), k.transpose(1, 2)) + mask
        w = torch.softmax(scores, -1)
        d = H * dh
        return torch.matmul(w, v).reshape(B, H, T, dh).permute(0, 2, 1, 3).reshape(B * T, d)

    def gpt2_logits(self, ps, x):
        cfg = self.cfg
        B, T = x.shape
        d, H = cfg["dModel"], cfg["nHeads"]
        dh = d // H
        it = iter(ps)
        tok, pos = next(it), next(it)
        h = (tok[x.reshape(-1)].reshape(B, T, d) + pos[:T]).reshape(B * T, d)
        for _ in range(cfg["nLayers"]):
            ln1g, ln1b, qkvw, qkvb, projw, projb, ln2g, ln2b, fcw, fcb, mpw, mpb = [next(it) for _ in range(12)]
            a = self.layer_norm(h, ln1g, ln1b)

            def heads(i):
                y = torch.matmul(a, qkvw[:, i * d:(i + 1) * d]) + qkvb[i * d:(i + 1) * d]
                return y.reshape(B, T, H, dh).permute(0, 2, 1, 3).reshape(B * H, T, dh)

            out = self.causal(heads(0), heads(1), heads(2), B, T, H, dh)
            h = h + (torch.matmul(out, projw) + projb)
            m = self.layer_norm(h, ln2g, ln2b)
            f = torch.matmul(m, fcw) + fcb
            u = (f * f * 0.044715 + 1) * f * (-2 * GELU_C)
            g = f / (torch.exp(torch.clamp(u, max=80.0)) + 1)
            h = h + (torch.matmul(g, mpw) + mpb)
        lnfg, lnfb, headw, headb = next(it), next(it), next(it), next(it)
        return torch.matmul(self.layer_norm(h, lnfg, lnfb), headw) + headb

    def llama_logits(self, ps, x):
        cfg = self.cfg
        B, T = x.shape
        d, H = cfg["dModel"], cfg["nHeads"]
        dh = d // H
        half = dh // 2
        cos, sin = self.cos[:T], self.sin[:T]
        it = iter(ps)
        tok = next(it)
        h = tok[x.reshape(-1)]

        def rope(t):
            rot = torch.cat([-t[..., half:], t[..., :half]], dim=-1)
            return t * cos + rot * sin

        for _ in range(cfg["nLayers"]):
            an, wq, wk, wv, wo, mn, wg, wu, wd = [next(it) for _ in range(9)]
            n = self.rms_norm(h, an)

            def heads(w):
                return torch.matmul(n, w).reshape(B, T, H, dh).permute(0, 2, 1, 3).reshape(B * H, T, dh)

            out = self.causal(rope(heads(wq)), rope(heads(wk)), heads(wv), B, T, H, dh)
            h = h + torch.matmul(out, wo)
            m = self.rms_norm(h, mn)
            gate = torch.matmul(m, wg)
            silu = gate / (torch.exp(torch.clamp(-gate, max=80.0)) + 1)
            h = h + torch.matmul(silu * torch.matmul(m, wu), wd)
        nf = next(it)
        head = tok.t() if self.tied else next(it)
        return torch.matmul(self.rms_norm(h, nf), head)

    def loss(self, ps, x, y):
        logits = self.logits(ps, x)
        lse = torch.logsumexp(logits, -1)
        picked = logits.gather(1, y.reshape(-1, 1)).reshape(-1)
        return (lse - picked).mean()


STATE = {}


def f32(buf, device):
    return torch.from_numpy(np.frombuffer(buf, dtype="<f4").copy()).to(device)


def tokens_of(buf, dtype, device):
    arr = np.frombuffer(buf, dtype={"uint8": "u1", "uint16": "<u2", "uint32": "<u4"}[dtype]).astype(np.int64)
    return torch.from_numpy(arr).to(device)


def windows(tokens, offsets, T):
    idx = offsets.reshape(-1, 1) + torch.arange(T + 1, device=tokens.device).reshape(1, -1)
    w = tokens[idx]
    return w[:, :T].contiguous(), w[:, 1:].contiguous()


def determinism_class(device, threads):
    parts = ["pytorch-" + torch.__version__]
    if device.type == "cuda":
        parts.append("cuda-" + str(torch.version.cuda))
        parts.append(torch.cuda.get_device_name(device).replace(" ", "_"))
        parts.append("cudnn-" + str(torch.backends.cudnn.version()))
        parts.append("deterministic")
    else:
        cap = "unknown"
        for line in torch.__config__.show().splitlines():
            if "CPU capability usage" in line:
                cap = line.split(":")[-1].strip().lower()
        parts.append("cpu-" + cap)
        blas = "blas-unknown"
        try:
            import ctypes
            lib = ctypes.CDLL("libopenblas.so.0")
            lib.openblas_get_corename.restype = ctypes.c_char_p
            lib.openblas_get_config.restype = ctypes.c_char_p
            cfgs = lib.openblas_get_config().decode().split()
            blas = "openblas-" + (cfgs[1] if len(cfgs) > 1 else "") + "-" + lib.openblas_get_corename().decode().lower()
        except OSError:
            pass
        parts.append(blas)
        parts.append("t%d" % threads)
    return "/".join(parts)


def cmd_init(h, bufs):
    want = h.get("device", "cpu")
    if want == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device cuda requested but torch.cuda.is_available() is false")
    device = torch.device("cuda" if want == "cuda" or (want == "auto" and torch.cuda.is_available()) else "cpu")
    threads = int(h.get("threads", 1))
    torch.set_num_threads(threads)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cudnn.benchmark = False
        torch.use_deterministic_algorithms(True)
    STATE["device"] = device
    STATE["opt"] = h["opt"]
    STATE["model"] = Model(h["config"], h["layout"], device, bufs)
    mem = None
    name = "cpu"
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        mem = props.total_memory
        name = props.name
    return {"torch": torch.__version__, "device": device.type, "deviceName": name, "memoryBytes": mem,
            "threads": threads, "determinismClass": determinism_class(device, threads)}, []


def cmd_train(h, bufs):
    import time
    cpu0, wall0 = time.process_time(), time.perf_counter()
    model, opt, dev = STATE["model"], STATE["opt"], STATE["device"]
    ps = model.unflatten(f32(bufs["params"], dev))
    if "m" in bufs:
        ms = model.unflatten(f32(bufs["m"], dev))
        vs = model.unflatten(f32(bufs["v"], dev))
    else:
        ms = [torch.zeros_like(p) for p in ps]
        vs = [torch.zeros_like(p) for p in ps]
    tokens = tokens_of(bufs["tokens"], h["dtype"], dev)
    V = model.cfg["vocabSize"]
    if int(tokens.max()) >= V:
        raise ValueError("token id %d >= vocabSize %d" % (int(tokens.max()), V))
    B, T = h["batchSize"], h["T"]
    offsets = torch.from_numpy(np.frombuffer(bufs["offsets"], dtype="<i4").astype(np.int64)).to(dev).reshape(-1, B)
    losses, norms, digests = [], [], []
    want_digests = bool(h.get("digests"))
    b1, b2, eps, wd, clip = opt["beta1"], opt["beta2"], opt["eps"], opt["weightDecay"], opt["clipNorm"]
    for s, (lr, step_size, sqrt_bc2) in enumerate(h["scalars"]):
        for p in ps:
            p.requires_grad_(True)
        x, y = windows(tokens, offsets[s], T)
        loss = model.loss(ps, x, y)
        grads = torch.autograd.grad(loss, ps)
        lv = float(loss)
        if not math.isfinite(lv):
            raise FloatingPointError("training diverged: loss %r at local step %d" % (lv, s))
        with torch.no_grad():
            lr_t = torch.tensor(lr, dtype=torch.float32, device=dev)
            ss_t = torch.tensor(step_size, dtype=torch.float32, device=dev)
            bc_t = torch.tensor(sqrt_bc2, dtype=torch.float32, device=dev)
            sq = None
            for g in grads:
                t = (g * g).sum()
                sq = t if sq is None else sq + t
            norm = torch.sqrt(sq)
            if clip > 0:
                scale = torch.clamp(torch.reciprocal(norm + CLIP_EPS) * clip, max=1.0)
                grads = [g * scale for g in grads]
            decay_factor = lr_t * (-wd) + 1
            new_ps = []
            for i, (p, g) in enumerate(zip(ps, grads)):
                p = p.detach()
                ms[i] = ms[i] * b1 + g * (1 - b1)
                vs[i] = vs[i] * b2 + (g * g) * (1 - b2)
                denom = torch.sqrt(vs[i]) / bc_t + eps
                if model.decay[i] and wd > 0:
                    p = p * decay_factor
                new_ps.append(p - (ms[i] / denom) * ss_t)
            ps = new_ps
        losses.append(lv)
        norms.append(float(norm))
        if want_digests:
            # round trace (worker/diloco/trace): SHA-256 of each flat float32 little-endian array
            with torch.no_grad():
                digests.append([hashlib.sha256(model.flatten(a).cpu().numpy().astype("<f4").tobytes()).hexdigest() for a in (ps, ms, vs)])
    with torch.no_grad():
        out = [("params", model.flatten(ps).cpu().numpy().astype("<f4").tobytes()),
               ("m", model.flatten(ms).cpu().numpy().astype("<f4").tobytes()),
               ("v", model.flatten(vs).cpu().numpy().astype("<f4").tobytes())]
    if dev.type == "cuda":
        torch.cuda.synchronize()
    return {"losses": losses, "gradNorms": norms, "digests": digests, "cpuSeconds": time.process_time() - cpu0, "wallSeconds": time.perf_counter() - wall0}, out


def cmd_eval(h, bufs):
    model, dev = STATE["model"], STATE["device"]
    with torch.no_grad():
        ps = model.unflatten(f32(bufs["params"], dev))
        tokens = tokens_of(bufs["tokens"], h["dtype"], dev)
        B, T = h["batchSize"], h["T"]
        offsets = torch.from_numpy(np.frombuffer(bufs["offsets"], dtype="<i4").astype(np.int64)).to(dev).reshape(-1, B)
        total = 0.0
        for row in offsets:
            x, y = windows(tokens, row, T)
            total += float(model.loss(ps, x, y))
        return {"loss": total / offsets.shape[0]}, []


def cmd_logits(h, bufs):
    model, dev = STATE["model"], STATE["device"]
    with torch.no_grad():
        ps = model.unflatten(f32(bufs["params"], dev))
        x = torch.from_numpy(np.frombuffer(bufs["x"], dtype="<i4").astype(np.int64)).to(dev).reshape(h["B"], h["T"])
        return {}, [("logits", model.logits(ps, x).cpu().numpy().astype("<f4").tobytes())]


COMMANDS = {"init": cmd_init, "train": cmd_train, "eval": cmd_eval, "logits": cmd_logits}


def main():
    while True:
        try:
            header, bufs = read_msg()
        except EOFError:
            return
        cmd = header.get("cmd")
        if cmd == "shutdown":
            write_msg({"ok": True})
            return
        try:
            if cmd not in COMMANDS:
                raise ValueError("unknown command %r" % cmd)
            if cmd != "init" and "model" not in STATE:
                raise RuntimeError("init must come first")
            reply, out = COMMANDS[cmd](header, bufs)
            reply["ok"] = True
            write_msg(reply, out)
        except Exception as e:  # reported to the caller, which raises it as an Error
            write_msg({"ok": False, "error": "%s: %s" % (type(e).__name__, e)})


if __name__ == "__main__":
    main()

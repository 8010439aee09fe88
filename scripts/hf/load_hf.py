"""Loads an exported model folder (model.safetensors + config.json, Hugging Face layout) with plain
PyTorch and prints its logits for given token ids: an independent check that the files mean what
they should (transformers is not installed here, so the forward pass of each family is written out
from the Hugging Face definitions: LlamaForCausalLM with rotate-half rotary; GPT2LMHeadModel with
gelu_new and Conv1D [in, out] weights).

usage: python3 load_hf.py <dir> <ids as JSON [[...], ...]>   → JSON {"logits": [[[...V]...T]...B]}
The safetensors file is parsed here too (u64 header length, JSON header, little-endian data).
"""
import json
import math
import struct
import sys

import numpy as np
import torch


def load_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", info["dtype"]
        b, e = info["data_offsets"]
        arr = np.frombuffer(data[base + b: base + e], dtype="<f4").reshape(info["shape"])
        out[name] = torch.from_numpy(arr.copy()).double()
    return out


def causal_attention(q, k, v):
    # q, k, v: [B, H, T, dh]
    T, dh = q.shape[-2], q.shape[-1]
    scores = q @ k.transpose(-1, -2) / math.sqrt(dh)
    mask = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
    scores = scores.masked_fill(mask, float("-inf"))
    return torch.softmax(scores, -1) @ v


def llama(cfg, w, ids):
    B, T = ids.shape
    d, H = cfg["hidden_size"], cfg["num_attention_heads"]
    dh = d // H
    eps = cfg["rms_norm_eps"]

    def rms(x, g):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * g

    inv = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, dh, 2, dtype=torch.float64) / dh))
    freqs = torch.outer(torch.arange(T, dtype=torch.float64), inv)
    emb = torch.cat([freqs, freqs], -1)
    cos, sin = emb.cos(), emb.sin()

    def rot(x):
        x1, x2 = x[..., : dh // 2], x[..., dh // 2:]
        return torch.cat([-x2, x1], -1)

    h = w["model.embed_tokens.weight"][ids]
    for l in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % l
        n = rms(h, w[p + "input_layernorm.weight"])
        def proj(name):
            return torch.nn.functional.linear(n, w[p + "self_attn.%s_proj.weight" % name]).view(B, T, H, dh).transpose(1, 2)
        q, k, v = proj("q"), proj("k"), proj("v")
        q = q * cos + rot(q) * sin
        k = k * cos + rot(k) * sin
        a = causal_attention(q, k, v).transpose(1, 2).reshape(B, T, d)
        h = h + torch.nn.functional.linear(a, w[p + "self_attn.o_proj.weight"])
        n = rms(h, w[p + "post_attention_layernorm.weight"])
        g = torch.nn.functional.silu(torch.nn.functional.linear(n, w[p + "mlp.gate_proj.weight"]))
        u = torch.nn.functional.linear(n, w[p + "mlp.up_proj.weight"])
        h = h + torch.nn.functional.linear(g * u, w[p + "mlp.down_proj.weight"])
    h = rms(h, w["model.norm.weight"])
    head = w["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings") else w["lm_head.weight"]
    return torch.nn.functional.linear(h, head)


def gpt2(cfg, w, ids):
    B, T = ids.shape
    d, H = cfg["n_embd"], cfg["n_head"]
    dh = d // H
    eps = cfg["layer_norm_epsilon"]

    def ln(x, p):
        return torch.nn.functional.layer_norm(x, (d,), w[p + ".weight"], w[p + ".bias"], eps)

    def conv1d(x, p):  # HF Conv1D: x @ W + b with W [in, out]
        return x @ w[p + ".weight"] + w[p + ".bias"]

    def gelu_new(x):
        return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))

    h = w["transformer.wte.weight"][ids] + w["transformer.wpe.weight"][:T]
    for l in range(cfg["n_layer"]):
        p = "transformer.h.%d." % l
        qkv = conv1d(ln(h, p + "ln_1"), p + "attn.c_attn")
        q, k, v = [t.view(B, T, H, dh).transpose(1, 2) for t in qkv.split(d, dim=2)]
        a = causal_attention(q, k, v).transpose(1, 2).reshape(B, T, d)
        h = h + conv1d(a, p + "attn.c_proj")
        h = h + conv1d(gelu_new(conv1d(ln(h, p + "ln_2"), p + "mlp.c_fc")), p + "mlp.c_proj")
    h = ln(h, "transformer.ln_f")
    logits = torch.nn.functional.linear(h, w["lm_head.weight"])
    if "lm_head.bias" in w:
        logits = logits + w["lm_head.bias"]
    return logits


def main():
    folder, ids_json = sys.argv[1], sys.argv[2]
    with open(folder + "/config.json") as f:
        cfg = json.load(f)
    w = load_safetensors(folder + "/model.safetensors")
    ids = torch.tensor(json.loads(ids_json), dtype=torch.long)
    with torch.no_grad():
        logits = llama(cfg, w, ids) if cfg["model_type"] == "llama" else gpt2(cfg, w, ids)
    json.dump({"logits": logits.tolist()}, sys.stdout)


if __name__ == "__main__":
    main()

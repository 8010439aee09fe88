"""Same transformer and training step in PyTorch CPU (1 thread), for the trainer speed comparison.

Usage: python3 torch_bench.py CONFIG_JSON TOKENS_FILE STEPS
CONFIG_JSON: {"vocabSize","contextLength","dModel","nHeads","nLayers","dMlp","batchSize","lr","beta1","beta2","eps","weightDecay","clipNorm"}
Prints one JSON line: {"steps", "wallSeconds", "cpuSeconds", "losses", "torch", "peakRssMB"}.
"""
import json, math, resource, sys, time

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(1)
torch.manual_seed(0)


class Block(nn.Module):
    def __init__(self, d, h, m):
        super().__init__()
        self.h = h
        self.ln1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.fc = nn.Linear(d, m)
        self.out = nn.Linear(m, d)

    def forward(self, x):
        B, T, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
        q, k, v = (t.view(B, T, self.h, d // self.h).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(d // self.h)
        mask = torch.ones(T, T, dtype=torch.bool).tril()
        att = att.masked_fill(~mask, float("-inf")).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, d)
        x = x + self.proj(y)
        return x + self.out(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))


class LM(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c["dModel"]
        self.tok = nn.Embedding(c["vocabSize"], d)
        self.pos = nn.Embedding(c["contextLength"], d)
        self.blocks = nn.ModuleList(Block(d, c["nHeads"], c["dMlp"]) for _ in range(c["nLayers"]))
        self.lnf = nn.LayerNorm(d)
        self.head = nn.Linear(d, c["vocabSize"])

    def forward(self, x):
        T = x.shape[1]
        h = self.tok(x) + self.pos(torch.arange(T))
        for b in self.blocks:
            h = b(h)
        return self.head(self.lnf(h))


def main():
    c = json.loads(sys.argv[1])
    tokens = torch.frombuffer(bytearray(open(sys.argv[2], "rb").read()), dtype=torch.uint8).long()
    steps = int(sys.argv[3])
    model = LM(c)
    decay = [p for p in model.parameters() if p.dim() == 2]
    no_decay = [p for p in model.parameters() if p.dim() != 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": c["weightDecay"]}, {"params": no_decay, "weight_decay": 0.0}],
        lr=c["lr"], betas=(c["beta1"], c["beta2"]), eps=c["eps"], foreach=False,
    )
    B, T = c["batchSize"], c["contextLength"]
    g = torch.Generator().manual_seed(1)

    def step():
        ix = torch.randint(0, len(tokens) - T - 1, (B,), generator=g)
        x = torch.stack([tokens[i : i + T] for i in ix])
        y = torch.stack([tokens[i + 1 : i + T + 1] for i in ix])
        loss = F.cross_entropy(model(x).view(-1, c["vocabSize"]), y.view(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if c["clipNorm"] > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), c["clipNorm"])
        opt.step()
        return loss.item()

    for _ in range(3):  # warm-up
        step()
    w0, c0 = time.perf_counter(), time.process_time()
    losses = [step() for _ in range(steps)]
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"steps": steps, "wallSeconds": wall, "cpuSeconds": cpu, "losses": losses, "torch": torch.__version__, "peakRssMB": rss}))


if __name__ == "__main__":
    main()

"""Gradient distillation of one converted MoE block (numpy only, Adam).

The least-squares refit of moefy.py can only re-weight the neurons a token keeps; it
cannot change *which* function those neurons compute. Here every weight of the block is
trained by backpropagation to make the MoE block reproduce the dense FFN's output on the
converted model's own FFN inputs: the shared expert's gate/up/down, each routed expert's
gate/up/down and, when its step size is not zero, the router (moefy.py keeps it fixed by
default: training it reordered the top-k in ways the gradient cannot see). Routing is the
file's: softmax over all experts, the top-k chosen by logit, each chosen expert weighted by
its (not renormalised) probability. The top-k choice itself is not differentiable and is
taken as is each step; the probabilities are.

Loss: Σ_t w_t ‖ŷ_t − y_t‖² / Σ_t w_t ‖y_t‖² with w_t the refit's token weights
(1/max(‖y_t‖², mean)), i.e. the relative error the conversion reports.
Step sizes are relative to each tensor's RMS, so the same setting suits gate/up rows,
down projections that carry the gate scale and the router.
"""
import numpy as np


def _silu_parts(a):
    s = 1.0 / (1.0 + np.exp(-a))
    return a * s, s * (1.0 + a * (1.0 - s))          # silu(a), silu'(a)


class BlockDistiller:
    """Adam on the weights of one MoE block: shared (gs, us, ds), routed (ge, ue, de), router."""

    NAMES = ("gs", "us", "ds", "ge", "ue", "de", "router")

    def __init__(self, blk, lr=2e-3, router_lr=1.0, beta1=0.9, beta2=0.999):
        self.blk = blk
        self.p = {"gs": blk.gs, "us": blk.us, "ds": blk.d_shared, "ge": blk.ge, "ue": blk.ue,
                  "de": blk.d_experts, "router": blk.router}
        self.p = {n: np.array(v, dtype=np.float32, copy=True) for n, v in self.p.items()}
        self.scale = {n: float(np.sqrt(np.mean(v ** 2))) for n, v in self.p.items()}
        self.scale["router"] *= router_lr
        self.lr, self.b1, self.b2 = lr, beta1, beta2
        self.m = {n: np.zeros_like(v) for n, v in self.p.items()}
        self.v = {n: np.zeros_like(v) for n, v in self.p.items()}
        self.t = 0

    def loss_and_grads(self, x, y, w, k, norm, grads=True):
        """Relative weighted error of the block on x (B × D) against y, and its gradients."""
        P = self.p
        E = P["router"].shape[0]
        ag, au = x @ P["gs"].T, x @ P["us"].T
        sg, dsg = _silu_parts(ag)
        hs = sg * au
        out = hs @ P["ds"].T
        logits = x @ P["router"].T
        z = np.exp(logits - logits.max(1, keepdims=True))
        prob = z / z.sum(1, keepdims=True)
        chosen = np.argpartition(-logits, k - 1, axis=1)[:, :k] if k < E else np.tile(np.arange(E), (len(x), 1))
        mask = np.zeros(logits.shape, dtype=bool)
        mask[np.arange(len(x))[:, None], chosen] = True
        cache = []
        for e in range(E):
            rows = np.nonzero(mask[:, e])[0]
            if len(rows) == 0:
                cache.append(None)
                continue
            xe = x[rows]
            a_g, a_u = xe @ P["ge"][e].T, xe @ P["ue"][e].T
            s_g, ds_g = _silu_parts(a_g)
            he = s_g * a_u
            oe = he @ P["de"][e].T
            out[rows] += prob[rows, e:e + 1] * oe
            cache.append((rows, xe, a_u, s_g, ds_g, he, oe))
        r = out - y
        loss = float((w * (r ** 2).sum(1)).sum() / norm)
        if not grads:
            return loss, None
        dout = (2.0 / norm) * w[:, None] * r
        g = {}
        g["ds"] = dout.T @ hs
        dh = dout @ P["ds"]
        g["gs"] = (dh * au * dsg).T @ x
        g["us"] = (dh * sg).T @ x
        g["ge"], g["ue"], g["de"] = np.zeros_like(P["ge"]), np.zeros_like(P["ue"]), np.zeros_like(P["de"])
        gsel = np.zeros_like(prob)
        for e, c in enumerate(cache):
            if c is None:
                continue
            rows, xe, a_u, s_g, ds_g, he, oe = c
            do = dout[rows]
            gsel[rows, e] = (do * oe).sum(1)
            dov = do * prob[rows, e:e + 1]
            g["de"][e] = dov.T @ he
            dhe = dov @ P["de"][e]
            g["ge"][e] = (dhe * a_u * ds_g).T @ xe
            g["ue"][e] = (dhe * s_g).T @ xe
        dlogits = prob * (gsel - (gsel * prob).sum(1, keepdims=True))
        g["router"] = dlogits.T @ x
        return loss, g

    def step(self, g, lr_scale=1.0):
        self.t += 1
        c1, c2 = 1 - self.b1 ** self.t, 1 - self.b2 ** self.t
        for n in self.NAMES:
            self.m[n] *= self.b1
            self.m[n] += (1 - self.b1) * g[n]
            self.v[n] *= self.b2
            self.v[n] += (1 - self.b2) * g[n] ** 2
            step = self.lr * lr_scale * self.scale[n]
            self.p[n] -= step * (self.m[n] / c1) / (np.sqrt(self.v[n] / c2) + 1e-12)

    def train(self, x, y, w, k, epochs, batch, rng, log=None, eval_tokens=4096):
        """Minibatch Adam with a linear decay to zero; returns the loss before and after
        (on up to eval_tokens of x)."""
        norm_full = float((w * (y ** 2).sum(1)).sum())
        n = len(x)
        total = max(1, epochs * ((n + batch - 1) // batch))
        # Before/after on a fixed sample (a full pass costs a third of an epoch each).
        sub = np.sort(rng.choice(n, min(n, eval_tokens), replace=False))
        norm_sub = float((w[sub] * (y[sub] ** 2).sum(1)).sum())
        before = self.evaluate(x[sub], y[sub], w[sub], k, norm_sub)
        it = 0
        for ep in range(epochs):
            perm = rng.permutation(n)
            run = 0.0
            for i in range(0, n, batch):
                idx = np.sort(perm[i:i + batch])
                xb, yb, wb = x[idx], y[idx], w[idx]
                norm = norm_full * len(idx) / n
                loss, g = self.loss_and_grads(xb, yb, wb, k, norm)
                self.step(g, 1.0 - it / total)
                run += loss * len(idx) / n
                it += 1
            if log:
                log(f"    epoch {ep + 1}: training loss {run:.4f}")
        after = self.evaluate(x[sub], y[sub], w[sub], k, norm_sub)
        return before, after

    def evaluate(self, x, y, w, k, norm_full, chunk=4096):
        total = 0.0
        for i in range(0, len(x), chunk):
            total += self.loss_and_grads(x[i:i + chunk], y[i:i + chunk], w[i:i + chunk], k, norm_full, grads=False)[0]
        return total

    def apply(self):
        """Writes the trained weights back into the block."""
        b, P = self.blk, self.p
        b.gs, b.us, b.d_shared, b.ge, b.ue, b.d_experts, b.router = (P[n] for n in self.NAMES)
        b.trained = True

"""The pieces of the original's recipe: the learning-rate schedule, bertadam with its weight decay,
the accumulated and clipped update, token dropout, and the evaluation of each epoch."""
import gluonnlp as nlp
import mxnet as mx
import numpy as np
from mxnet import gluon
from sklearn.metrics import accuracy_score, f1_score, log_loss

from kobert_gluon.predictor import Predictor
from kobert_base.topics import TOPICS


def lr_at(step, total, warmup, lr):
    """Linear warmup to lr, then linear decay to 0 (the original's schedule); step counts updates done."""
    if step < warmup:
        return lr * step / warmup
    return max(lr - (step - warmup) * lr / max(total - warmup, 1), 0.0)


def make_trainer(net, cfg, **kvstore):
    """bertadam with weight decay on everything but LayerNorm (gamma, beta) and biases; gradients
    accumulate (grad_req 'add') until apply_update. kvstore: gluon.Trainer's kvstore arguments
    (kobert_gluon.devices), for several devices or workers."""
    trainer = gluon.Trainer(net.collect_params(), 'bertadam',
                            {'learning_rate': cfg.lr, 'epsilon': cfg.epsilon, 'wd': cfg.weight_decay}, **kvstore)
    for p in net.collect_params('.*beta|.*gamma|.*bias').values():
        p.wd_mult = 0.0
    params = [p for p in net.collect_params().values() if p.grad_req != 'null']
    for p in params:
        p.grad_req = 'add'
    return trainer, params


def apply_update(trainer, params, batches, max_grad_norm):
    """One optimizer step on the gradients summed over `batches` batches: clip their global norm,
    then update with their mean (rescale 1/batches). Returns the norm before clipping."""
    trainer.allreduce_grads()
    norm = nlp.utils.clip_grad_global_norm(params, max_grad_norm)
    trainer.update(batches)
    for p in params:
        p.zero_grad()
    return norm


def mask_tokens(ids, rate, mask_id):
    """A copy of ids with about `rate` of its tokens (not [CLS]/[SEP]) replaced by [MASK]:
    a regulariser for small data. Uses numpy's global stream, seeded per epoch."""
    if not rate:
        return ids
    hit = np.random.random_sample(len(ids)) < rate
    hit[0] = hit[-1] = False
    return np.where(hit, mask_id, ids).astype(ids.dtype)


def evaluate(net, tokenizer, texts, labels, cfg, clusters=None, ctx=mx.cpu()):
    """Loss, accuracy and macro-F1 on labelled model texts (clusters: mode 5's ids), with the probabilities."""
    probs = Predictor(net, tokenizer, TOPICS, cfg.max_len, cfg.batch_size, ctx).predict_proba(texts, clusters=clusters)
    pred = probs.argmax(axis=1)
    return {
        'eval_loss': float(log_loss(labels, probs, labels=np.arange(len(TOPICS)))),
        'eval_accuracy': float(accuracy_score(labels, pred)),
        'eval_macro_f1': float(f1_score(labels, pred, average='macro', labels=np.unique(labels))),
    }, probs

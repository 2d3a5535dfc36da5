"""The project's training recipe in PyTorch + transformers, for the framework comparison.

Runs in the second environment (.venv-hf); bench/compare_frameworks.py prepares its inputs (the
same split, texts and tokenizer the Gluon trainer uses) and runs both. The recipe is
kobert_gluon/trainer.py's, step by step:

- BertForSequenceClassification of a project configuration (kobert, small, tiny), weights
  Normal(0.02), biases 0, LayerNorm 1/0 (Gluon's initializer; transformers also zeroes [PAD]'s
  embedding row, which the attention mask keeps out of every output anyway);
- GluonNLP's BERTAdam: Adam without bias correction, w -= lr * (m / (sqrt(v) + eps) + wd * w),
  no weight decay on LayerNorm and biases;
- gradients of `accumulate` batches summed, clipped to a global norm (scaled by max_norm / norm
  when above, as gluonnlp's clip_grad_global_norm), then divided by the number of batches summed
  (Gluon's Trainer.update(n));
- linear warmup over warmup_ratio of the updates, then linear decay; update k (from 1) uses
  lr_at(k - 1), so the first update has lr_at(0);
- batches of similar lengths (num_buckets length buckets, shuffled, as gluonnlp's
  FixedBucketSampler), each padded to its longest; batch order and dropout seeded per epoch;
- evaluation each epoch (loss, accuracy, macro-F1 over the topics present), early stopping on
  accuracy or macro-F1 with patience.

    python bench/train_hf.py --train train.json --eval eval.json --tokenizer_dir tok/ --output_dir out/
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch

SIZES = {'kobert': (12, 768, 3072, 12), 'small': (4, 256, 1024, 4), 'tiny': (2, 128, 512, 2)}
NUM_TOPICS = 8


class BertAdam(torch.optim.Optimizer):
    """GluonNLP 0.10's BERTAdam (no bias correction, decoupled weight decay scaled by lr)."""

    def __init__(self, params, lr, eps, betas=(0.9, 0.999)):
        super().__init__(params, dict(lr=lr, eps=eps, betas=betas, weight_decay=0.0))

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            beta1, beta2 = group['betas']
            for p in group['params']:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state['m'], state['v'] = torch.zeros_like(p), torch.zeros_like(p)
                m, v = state['m'], state['v']
                m.mul_(beta1).add_(p.grad, alpha=1 - beta1)
                v.mul_(beta2).addcmul_(p.grad, p.grad, value=1 - beta2)
                update = m / (v.sqrt() + group['eps'])
                if group['weight_decay']:
                    update.add_(p, alpha=group['weight_decay'])
                p.sub_(update, alpha=group['lr'])


def lr_at(step, total, warmup, lr):
    """kobert_gluon.trainer.lr_at: linear warmup to lr, then linear decay to 0."""
    if step < warmup:
        return lr * step / warmup
    return max(lr - (step - warmup) * lr / max(total - warmup, 1), 0.0)


def bucket_batches(lengths, batch_size, num_buckets, rng):
    """Batches of indices of similar lengths: num_buckets buckets of equal length range (as
    FixedBucketSampler's constant-width scheme), samples shuffled in their bucket, batches shuffled."""
    lengths = np.asarray(lengths)
    num_buckets = max(1, min(num_buckets, len(lengths)))
    keys = np.linspace(lengths.min(), lengths.max(), num_buckets + 1)[1:]
    bucket_of = np.searchsorted(keys, lengths, side='left')
    batches = []
    for b in range(num_buckets):
        members = np.flatnonzero(bucket_of == b)
        rng.shuffle(members)
        batches += [members[i:i + batch_size] for i in range(0, len(members), batch_size)]
    rng.shuffle(batches)
    return batches


def pad(ids_list, pad_id):
    width = max(len(x) for x in ids_list)
    ids = torch.full((len(ids_list), width), pad_id, dtype=torch.long)
    for i, x in enumerate(ids_list):
        ids[i, :len(x)] = torch.tensor(x)
    return ids, (ids != pad_id).long()


def build(config, dropout, pad_id, max_length=512):
    from transformers import BertConfig, BertForSequenceClassification
    layers, units, hidden, heads = SIZES[config]
    cfg = BertConfig(vocab_size=8002, hidden_size=units, num_hidden_layers=layers, num_attention_heads=heads,
                     intermediate_size=hidden, hidden_act='gelu', hidden_dropout_prob=0.1,
                     attention_probs_dropout_prob=0.1, max_position_embeddings=max_length, type_vocab_size=2,
                     initializer_range=0.02, layer_norm_eps=1e-12, pad_token_id=pad_id, num_labels=NUM_TOPICS,
                     classifier_dropout=dropout)
    model = BertForSequenceClassification(cfg)
    with torch.no_grad():  # Gluon's Normal(0.02) also for the classifier head; biases 0
        for name, p in model.named_parameters():
            if name.endswith('bias'):
                p.zero_()
            elif 'LayerNorm' not in name:
                p.normal_(0.0, 0.02)
    return model


def evaluate(model, ids, labels, batch_size, pad_id):
    from sklearn.metrics import accuracy_score, f1_score, log_loss
    model.eval()
    order = np.argsort([len(x) for x in ids], kind='stable')
    probs = np.zeros((len(ids), NUM_TOPICS))
    with torch.inference_mode():
        for i in range(0, len(order), batch_size):
            rows = order[i:i + batch_size]
            tokens, mask = pad([ids[j] for j in rows], pad_id)
            probs[rows] = model(input_ids=tokens, attention_mask=mask).logits.double().softmax(-1).numpy()
    pred = probs.argmax(1)
    return {'eval_loss': float(log_loss(labels, probs, labels=np.arange(NUM_TOPICS))),
            'eval_accuracy': float(accuracy_score(labels, pred)),
            'eval_macro_f1': float(f1_score(labels, pred, average='macro', labels=np.unique(labels)))}, probs


def load(path, tokenizer, max_len):
    with open(path, encoding='utf-8') as f:
        rows = json.load(f)
    ids = tokenizer([r['text'] for r in rows], truncation=True, max_length=max_len)['input_ids']
    return ids, np.array([r['label'] for r in rows])


def train(a):
    from transformers import AutoTokenizer
    torch.set_num_threads(len(os.sched_getaffinity(0)))
    tokenizer = AutoTokenizer.from_pretrained(a.tokenizer_dir)
    pad_id = tokenizer.pad_token_id
    train_ids, train_y = load(a.train, tokenizer, a.max_len)
    eval_ids, eval_y = load(a.eval, tokenizer, a.max_len)
    torch.manual_seed(a.seed)
    model = build(a.model, a.dropout, pad_id)
    decay = [p for n, p in model.named_parameters() if not (n.endswith('bias') or 'LayerNorm' in n)]
    no_decay = [p for n, p in model.named_parameters() if n.endswith('bias') or 'LayerNorm' in n]
    opt = BertAdam([{'params': decay, 'weight_decay': a.weight_decay}, {'params': no_decay}], lr=a.lr, eps=a.epsilon)
    lengths = [len(x) for x in train_ids]
    n_batches = len(bucket_batches(lengths, a.batch_size, a.num_buckets, np.random.RandomState(0)))
    total = math.ceil(n_batches / a.accumulate) * a.epochs
    warmup = int(total * a.warmup_ratio)
    loss_fn = torch.nn.CrossEntropyLoss()
    params = [p for p in model.parameters() if p.requires_grad]
    history, step, best, best_epoch, bad, best_probs = [], 0, -1.0, 0, 0, None
    for epoch in range(1, a.epochs + 1):
        if a.patience and bad >= a.patience:
            break
        rng = np.random.RandomState((a.seed * 1000 + epoch) % 2 ** 32)     # batch order of this epoch
        torch.manual_seed((a.seed * 1000 + epoch) % 2 ** 31)               # dropout of this epoch
        tic = time.time()
        model.train()
        batches = bucket_batches(lengths, a.batch_size, a.num_buckets, rng)
        total_loss, correct, seen = 0.0, 0, 0
        opt.zero_grad()
        for i, rows in enumerate(batches):
            tokens, mask = pad([train_ids[j] for j in rows], pad_id)
            label = torch.from_numpy(train_y[rows])
            logits = model(input_ids=tokens, attention_mask=mask).logits
            loss = loss_fn(logits, label)
            loss.backward()
            total_loss += loss.item() * len(rows)
            correct += int((logits.argmax(-1) == label).sum())
            seen += len(rows)
            summed = i % a.accumulate + 1
            if summed == a.accumulate or i == len(batches) - 1:
                norm = torch.sqrt(sum((p.grad.double() ** 2).sum() for p in params if p.grad is not None))
                factor = (min(1.0, a.max_grad_norm / float(norm)) if a.max_grad_norm else 1.0) / summed
                for p in params:
                    if p.grad is not None:
                        p.grad.mul_(factor)
                for group in opt.param_groups:
                    group['lr'] = lr_at(step, total, warmup, a.lr)  # update step + 1 uses lr_at(step)
                opt.step()
                opt.zero_grad()
                step += 1
        scores, probs = evaluate(model, eval_ids, eval_y, a.batch_size, pad_id)
        record = dict({'epoch': epoch, 'loss': total_loss / seen, 'train_accuracy': correct / seen,
                       'lr': opt.param_groups[0]['lr'], 'seconds': time.time() - tic}, **scores)
        history.append(record)
        score = scores['eval_' + a.early_stop]
        if score > best:
            best, best_epoch, bad, best_scores, best_probs = score, epoch, 0, scores, probs
        else:
            bad += 1
        print(json.dumps(record), file=sys.stderr, flush=True)
    summary = dict(best_scores, best_epoch=best_epoch, epochs_run=len(history))
    os.makedirs(a.output_dir, exist_ok=True)
    for name, obj in (('metrics.json', history), ('best.json', summary)):
        with open(os.path.join(a.output_dir, name), 'w') as f:
            json.dump(obj, f, indent=2)
    np.save(os.path.join(a.output_dir, 'best_probs.npy'), best_probs)
    return summary


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--train', required=True, help='JSON list of {"text", "label"} (label: topic index)')
    p.add_argument('--eval', required=True)
    p.add_argument('--tokenizer_dir', required=True, help="kobert-news export's tokenizer files")
    p.add_argument('--output_dir', required=True)
    p.add_argument('--model', default='small', choices=sorted(SIZES))
    p.add_argument('--max_len', type=int, default=128)
    p.add_argument('--batch_size', type=int, default=32)
    p.add_argument('--epochs', type=int, default=20)
    p.add_argument('--lr', type=float, default=5e-5)
    p.add_argument('--epsilon', type=float, default=1e-9)
    p.add_argument('--weight_decay', type=float, default=0.01)
    p.add_argument('--warmup_ratio', type=float, default=0.1)
    p.add_argument('--accumulate', type=int, default=4)
    p.add_argument('--max_grad_norm', type=float, default=1.0)
    p.add_argument('--dropout', type=float, default=0.1, help='classifier dropout (the body keeps 0.1)')
    p.add_argument('--patience', type=int, default=5)
    p.add_argument('--early_stop', choices=('accuracy', 'macro_f1'), default='accuracy')
    p.add_argument('--num_buckets', type=int, default=10)
    p.add_argument('--seed', type=int, default=42)
    a = p.parse_args(argv)
    try:
        print(json.dumps(train(a)))
    except (OSError, ValueError, KeyError) as e:
        print('error: %s' % e, file=sys.stderr)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main())

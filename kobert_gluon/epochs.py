"""The epoch loop of a run: batches, accumulated updates on the schedule, evaluation, checkpoints."""
import logging
import os
import time

import gluonnlp as nlp
import mxnet as mx
import numpy as np
from mxnet import autograd, gluon

from kobert_gluon import model as model_lib
from kobert_gluon.atomic import atomic_path
from kobert_gluon.progress import Progress
from kobert_gluon.recipe import apply_update, evaluate, lr_at, make_trainer, mask_tokens

log = logging.getLogger('kobert_news.train')


class Loop:
    def __init__(self, cfg, run, net, tokenizer, meta, centroids, fingerprint, on_update=None):
        self.cfg, self.out, self.net, self.tokenizer = cfg, run, net, tokenizer
        self.meta, self.centroids, self.fingerprint, self.on_update = meta, centroids, fingerprint, on_update
        self.trainer, self.params = make_trainer(net, cfg)
        self.history, self.step, self.best, self.best_epoch, self.bad, self.first = [], 0, -1.0, 0, 0, 1

    def start(self, state):
        """Write the config and open the log; resume from the last finished epoch of a state."""
        _log_to(self.out.path('log.txt'))
        self.out.write_json('train_config.json', self.cfg.to_dict())
        if state:
            self.first = state['epoch'] + 1
            self.history, self.step, self.best = state['history'], state['step'], state['best']
            self.best_epoch, self.bad = state['best_epoch'], state['bad_epochs']
            self.net.load_parameters(self.out.checkpoint(state['epoch']))
            self.trainer.load_states(self.out.checkpoint(state['epoch'], 'states'))
            self.out.write_json('metrics.json', self.history)  # a kill may have come before it was written
            log.info('resumed from epoch %d', state['epoch'])

    def run(self, samples, labels, clusters, evaluation):
        """Train the epochs still to do; evaluation: (texts, labels, mode-5 ids) or None.
        Returns (history, best epoch)."""
        cfg = self.cfg
        lengths = [len(s) for s in samples]
        n_batches = len(self._sampler(lengths))
        total = -(-n_batches // cfg.accumulate) * cfg.epochs
        warmup = int(total * cfg.warmup_ratio)
        last = cfg.stop_epoch or cfg.epochs
        self.net.hybridize(static_alloc=True)
        log.info('train %d rows%s, mode %d, %s, %d batches/epoch, %d steps, warmup %d', len(samples),
                 ' / eval %d rows' % len(evaluation[0]) if evaluation else ' (no evaluation)', cfg.mode, cfg.model,
                 n_batches, total, warmup)
        for epoch in range(self.first, last + 1):
            if evaluation and cfg.patience and self.bad >= cfg.patience:
                break
            np.random.seed((cfg.seed * 1000 + epoch) % 2 ** 32)   # batch order of this epoch
            mx.random.seed((cfg.seed * 1000 + epoch) % 2 ** 31)   # dropout of this epoch
            tic = time.time()
            batches = self._batches(samples, labels, clusters, self._sampler(lengths))
            loss, accuracy = self.train_epoch(batches, n_batches, epoch, lambda s: lr_at(s, total, warmup, cfg.lr))
            record = {'epoch': epoch, 'loss': loss, 'train_accuracy': accuracy, 'lr': self.trainer.learning_rate,
                      'seconds': time.time() - tic}
            improved = True
            if evaluation:
                scores, _ = evaluate(self.net, self.tokenizer, *evaluation[:2], cfg, evaluation[2])
                record.update(scores)
                improved = scores['eval_' + cfg.early_stop] > self.best
                if improved:
                    self.best = scores['eval_' + cfg.early_stop]
                self.bad = 0 if improved else self.bad + 1
                log.info('epoch %d: loss %.4f, train acc %.4f, eval acc %.4f, eval macro-F1 %.4f, %.0fs%s', epoch,
                         loss, accuracy, scores['eval_accuracy'], scores['eval_macro_f1'], record['seconds'],
                         ' (best)' if improved else '')
            else:
                log.info('epoch %d: loss %.4f, train acc %.4f, %.0fs', epoch, loss, accuracy, record['seconds'])
            if improved:
                self.best_epoch = epoch
            self.history.append(record)
            self._save(epoch)
        return self.history, self.best_epoch

    def _sampler(self, lengths):
        # FixedBucketSampler shuffles its own lists in place, so each epoch gets a fresh one: the
        # order then depends only on this epoch's seed, and a resumed run sees the same batches.
        return nlp.data.FixedBucketSampler(lengths, batch_size=self.cfg.batch_size,
                                           num_buckets=min(self.cfg.num_buckets, len(lengths)), shuffle=True)

    def _batches(self, samples, labels, clusters, sampler):
        pad = nlp.data.batchify.Pad(pad_val=self.tokenizer.pad_id, ret_length=True, dtype='float32')
        mask_id = self.tokenizer.vocab[self.tokenizer.vocab.mask_token]
        for idx in sampler:
            ids, valid = pad([mask_tokens(samples[j], self.cfg.token_dropout, mask_id) for j in idx])
            ids, valid = ids.as_in_context(mx.cpu()), valid.astype('float32').as_in_context(mx.cpu())  # not cpu_shared
            label = mx.nd.array(labels[idx], dtype='float32')
            extra = [mx.nd.array(np.asarray(clusters)[idx], dtype='float32')] if clusters is not None else []
            yield [ids, mx.nd.zeros_like(ids), valid] + extra, label

    def train_epoch(self, batches, n_batches, epoch, schedule):
        """One pass over the batches, gradients summed over cfg.accumulate of them per update; update k
        of the run uses schedule(k - 1). Returns (mean loss, training accuracy)."""
        cfg, loss_fn = self.cfg, gluon.loss.SoftmaxCrossEntropyLoss()
        metric, total_loss, seen, window, window_loss = mx.metric.Accuracy(), 0.0, 0, 0, []
        bar = Progress(total=n_batches, desc='epoch %d' % epoch, unit='batch')
        for i, (inputs, label) in enumerate(batches):
            if window == 0:
                lr = schedule(self.step)
                self.trainer.set_learning_rate(lr)
            with autograd.record():
                out = self.net(*inputs)
                loss = loss_fn(out, label).mean()
            loss.backward()
            window += 1
            if window == cfg.accumulate or i == n_batches - 1:
                apply_update(self.trainer, self.params, window, cfg.max_grad_norm)
                self.step += 1
                window = 0
                if self.on_update:
                    self.on_update(self.step, lr)
            value = float(loss.asscalar())
            metric.update([label], [out])
            total_loss += value * label.shape[0]
            seen += label.shape[0]
            window_loss.append(value)
            if (i + 1) % cfg.log_interval == 0:
                log.info('[Epoch %d Batch %d/%d] loss=%.4f, lr=%.10f, acc=%.3f', epoch, i + 1, n_batches,
                         np.mean(window_loss), self.trainer.learning_rate, metric.get()[1])
                window_loss = []
            bar.update(1)
            bar.set_postfix(loss='%.3f' % value, acc='%.3f' % metric.get()[1])
        bar.close()
        return total_loss / seen, metric.get()[1]

    def _save(self, epoch):
        """Params (with meta) and optimizer state of this epoch, metrics.json, then state.json naming
        them, last: a resumed run starts from the state, and rewrites metrics.json from it."""
        run = self.out
        model_lib.save(self.net, run.checkpoint(epoch), self.meta, self.centroids)
        with atomic_path(run.checkpoint(epoch, 'states')) as tmp:
            self.trainer.save_states(tmp)
        run.write_json('metrics.json', self.history)
        run.write_state({'epoch': epoch, 'step': self.step, 'best': self.best, 'best_epoch': self.best_epoch,
                         'bad_epochs': self.bad, 'history': self.history, 'fingerprint': self.fingerprint})
        old = run.checkpoint(epoch - 1, 'states')
        if os.path.exists(old):  # optimizer state is needed only to resume from the last epoch
            os.remove(old)


def _log_to(path):
    """Everything the project logs during this run also goes to the run's log.txt."""
    root = logging.getLogger('kobert_news')
    for h in list(root.handlers):
        if isinstance(h, logging.FileHandler):
            root.removeHandler(h)
            h.close()
    handler = logging.FileHandler(path, encoding='utf-8')
    handler.setFormatter(logging.Formatter('%(asctime)s %(message)s'))
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > logging.INFO:
        root.setLevel(logging.INFO)

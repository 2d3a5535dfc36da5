"""The epoch loop of a run: batches, accumulated updates on the schedule, evaluation, checkpoints."""
import logging
import os
import time

import gluonnlp as nlp
import mxnet as mx
import numpy as np
from mxnet import autograd, gluon

from kobert_gluon import model as model_lib
from kobert_base.atomic import atomic_path
from kobert_gluon.devices import Devices
from kobert_base.progress import Progress
from kobert_gluon.recipe import apply_update, evaluate, lr_at, make_trainer, mask_tokens

log = logging.getLogger('kobert_news.train')


class Loop:
    def __init__(self, cfg, run, net, tokenizer, meta, centroids, fingerprint, on_update=None, devices=None):
        """devices (kobert_gluon.devices): the contexts and workers; by default one CPU in this process."""
        self.cfg, self.out, self.net, self.tokenizer = cfg, run, net, tokenizer
        self.meta, self.centroids, self.fingerprint, self.on_update = meta, centroids, fingerprint, on_update
        self.devices = devices or Devices()
        self.trainer, self.params = make_trainer(net, cfg, **self.devices.trainer_args(cfg.kvstore))
        self.history, self.step, self.best, self.best_epoch, self.bad, self.first = [], 0, -1.0, 0, 0, 1

    def start(self, state):
        """Write the config and open the log (worker 0); resume from the last finished epoch of a state."""
        if self.devices.writer:
            _log_to(self.out.path('log.txt'))
            self.out.write_json('train_config.json', self.cfg.to_dict())
        if state:
            self.first = state['epoch'] + 1
            self.history, self.step, self.best = state['history'], state['step'], state['best']
            self.best_epoch, self.bad = state['best_epoch'], state['bad_epochs']
            self.net.load_parameters(self.out.checkpoint(state['epoch']))
            self.trainer.load_states(self.out.checkpoint(state['epoch'], 'states'))
            if self.devices.writer:  # a kill may have come before it was written
                self.out.write_json('metrics.json', self.history)
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
        if self.devices.distributed:
            self.devices.take_worker0_params(self.trainer)
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
            if evaluation and self.devices.writer:  # worker 0 evaluates and tells the others when to stop
                scores, _ = evaluate(self.net, self.tokenizer, *evaluation[:2], cfg, evaluation[2],
                                     ctx=self.devices.contexts[0])
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
            if evaluation and self.devices.distributed:
                self.bad = int(self.devices.broadcast([self.bad])[0])
            if improved:
                self.best_epoch = epoch
            self.history.append(record)
            if self.devices.writer:
                self._save(epoch)
        return self.history, self.best_epoch

    def _sampler(self, lengths):
        # FixedBucketSampler shuffles its own lists in place, so each epoch gets a fresh one: the
        # order then depends only on this epoch's seed, and a resumed run sees the same batches.
        return nlp.data.FixedBucketSampler(lengths, batch_size=self.cfg.batch_size,
                                           num_buckets=min(self.cfg.num_buckets, len(lengths)), shuffle=True)

    def _batches(self, samples, labels, clusters, sampler):
        """(inputs, labels, rows, weight) per global batch of `rows` rows: this worker's share of it (all
        of it in one process); weight 0 for a share that only stands in (Devices.share)."""
        pad = nlp.data.batchify.Pad(pad_val=self.tokenizer.pad_id, ret_length=True, dtype='float32')
        mask_id = self.tokenizer.vocab[self.tokenizer.vocab.mask_token]
        for batch in sampler:
            idx, weight = self.devices.share(batch)
            ids, valid = pad([mask_tokens(samples[j], self.cfg.token_dropout, mask_id) for j in idx])
            ids, valid = ids.as_in_context(mx.cpu()), valid.astype('float32').as_in_context(mx.cpu())  # not cpu_shared
            label = mx.nd.array(labels[idx], dtype='float32')
            extra = [mx.nd.array(np.asarray(clusters)[idx], dtype='float32')] if clusters is not None else []
            yield [ids, mx.nd.zeros_like(ids), valid] + extra, label, len(batch), weight

    def _forward_backward(self, inputs, label, rows, weight, loss_fn):
        """Gradients of a batch's mean loss, added to the parameters' (grad_req 'add'). Returns (outputs,
        labels, losses, rows counted here): in one context, the batch's mean loss; split across
        contexts and workers, each part's summed loss, its gradient taken over the global batch's rows
        (parts of weight 0 only stand in: their gradient is zero and they are not counted)."""
        if self.devices.plain:
            with autograd.record():
                out = self.net(*inputs)
                loss = loss_fn(out, label).mean()
            loss.backward()
            return [out], [label], [loss], label.shape[0]
        outs, labels, sums, scaled = [], [], [], []
        with autograd.record():
            for part, w in self.devices.split(inputs + [label], weight):
                out = self.net(*part[:-1])
                total = loss_fn(out, part[-1]).sum()
                scaled.append(total * (w / rows))
                if w:
                    outs.append(out)
                    labels.append(part[-1])
                    sums.append(total)
        autograd.backward(scaled)
        return outs, labels, sums, sum(x.shape[0] for x in labels)

    def train_epoch(self, batches, n_batches, epoch, schedule):
        """One pass over the batches, gradients summed over cfg.accumulate of them per update; update k
        of the run uses schedule(k - 1). Returns (mean loss, training accuracy), over all workers."""
        cfg, loss_fn = self.cfg, gluon.loss.SoftmaxCrossEntropyLoss()
        metric, total_loss, seen, window, window_loss = mx.metric.Accuracy(), 0.0, 0, 0, []
        bar = Progress(total=n_batches, desc='epoch %d' % epoch, unit='batch')
        for i, (inputs, label, rows, weight) in enumerate(batches):
            if window == 0:
                lr = schedule(self.step)
                self.trainer.set_learning_rate(lr)
            outs, labels, losses, here = self._forward_backward(inputs, label, rows, weight, loss_fn)
            window += 1
            if window == cfg.accumulate or i == n_batches - 1:
                apply_update(self.trainer, self.params, window, cfg.max_grad_norm)
                self.step += 1
                window = 0
                if self.on_update:
                    self.on_update(self.step, lr)
            if self.devices.plain:
                value = float(losses[0].asscalar())
                total_loss += value * here
            else:
                summed = sum(float(x.asscalar()) for x in losses)
                value = summed / here if here else 0.0
                total_loss += summed
            metric.update(labels, outs)
            seen += here
            window_loss.append(value)
            if (i + 1) % cfg.log_interval == 0:
                log.info('[Epoch %d Batch %d/%d] loss=%.4f, lr=%.10f, acc=%.3f', epoch, i + 1, n_batches,
                         np.mean(window_loss), self.trainer.learning_rate, metric.get()[1])
                window_loss = []
            bar.update(1)
            bar.set_postfix(loss='%.3f' % value, acc='%.3f' % metric.get()[1])
        bar.close()
        if self.devices.distributed:
            total_loss, seen, correct, count = self.devices.allreduce([total_loss, seen, metric.sum_metric,
                                                                      metric.num_inst])
            return total_loss / seen, correct / count
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

"""Fine-tuning with the original's recipe, resumable and seeded.

The recipe (KoBERT's GluonNLP example, as the original used it): bertadam, lr 5e-5, epsilon 1e-9,
weight decay 0.01 except LayerNorm and biases, linear warmup over 10% of the steps then linear
decay, gradients accumulated over 4 batches, global-norm clipping at 1, softmax cross-entropy.

Each epoch's random streams (batch order, dropout) are seeded from (seed, epoch), so a run that
resumes from an epoch checkpoint continues exactly as an uninterrupted one.
"""
import json
import logging
import os
import shutil
import time

import gluonnlp as nlp
import mxnet as mx
import numpy as np
import pandas as pd
from mxnet import autograd, gluon
from sklearn.metrics import accuracy_score, f1_score, log_loss
from tqdm import tqdm

from config import CLUSTER_MODES, MODEL_CONFIGS, TOPICS, UserError
from kobert_gluon import files
from kobert_gluon import model as model_lib
from kobert_gluon.atomic import atomic_path, atomic_write_text
from kobert_gluon.embed_init import lsa_embeddings
from kobert_gluon.predictor import Predictor
from kobert_gluon.tokenizer import KoBERTTokenizer
from preprocess import clusters as clusters_lib
from preprocess import load_data

log = logging.getLogger('kobert_news.train')
CHECKPOINTS = 'checkpoints'


# ---------------------------------------------------------------- model

def build_model(cfg, tokenizer, num_clusters=0, ctx=mx.cpu()):
    mcfg = MODEL_CONFIGS[cfg.model]
    if len(tokenizer.vocab) != mcfg.vocab_size:
        raise UserError('the vocabulary has %d tokens; configuration %s needs %d'
                        % (len(tokenizer.vocab), cfg.model, mcfg.vocab_size))
    mx.random.seed(cfg.seed)
    net = model_lib.build_classifier(mcfg, len(TOPICS), dropout=cfg.dropout, ctx=ctx, num_clusters=num_clusters)
    body = pretrained_body(cfg)
    if body:
        model_lib.load_pretrained_body(net, body, ctx)
        log.info('BERT body from %s', body)
    return net, body


def pretrained_body(cfg):
    """Path of KoBERT's pretrained params, or None (training from scratch).

    'kobert' requires KoBERT's file (found or downloaded); 'auto' uses it for the kobert
    configuration when it can be had and otherwise trains from scratch with a warning. 'hf:DIR'
    converts a transformers BERT checkpoint (kobert_gluon.hf), 'gluonnlp' takes GluonNLP's model zoo."""
    if cfg.pretrained == 'none':
        return None
    if cfg.pretrained.startswith('hf:') or cfg.pretrained == 'gluonnlp':
        from kobert_gluon import hf, zoo
        tokenizer = KoBERTTokenizer.load(cfg.kobert_dir)
        if cfg.pretrained == 'gluonnlp':
            if cfg.model != 'kobert':
                raise UserError("GluonNLP's %s body fits only --model kobert, not %s" % (zoo.DATASET, cfg.model))
            return zoo.zoo_body(tokenizer)
        return hf.import_body(cfg.pretrained[3:], MODEL_CONFIGS[cfg.model], tokenizer,
                              cfg.cache_dir and os.path.join(cfg.cache_dir, 'hf-import'))
    if cfg.pretrained not in ('auto', 'kobert'):
        return files.fetch(files.PARAMS, cfg.kobert_dir, explicit=cfg.pretrained)
    if cfg.model != 'kobert':
        if cfg.pretrained == 'kobert':
            raise UserError("KoBERT's pretrained body fits only --model kobert, not %s" % cfg.model)
        log.info("configuration '%s' has no pretrained body: training from scratch", cfg.model)
        return None
    try:
        return files.fetch(files.PARAMS, cfg.kobert_dir)
    except UserError as e:
        if cfg.pretrained == 'kobert':
            raise
        log.warning("KoBERT's pretrained body is not available (%s): training kobert FROM SCRATCH, "
                    "which will not reach the original's accuracy", e)
        return None


def init_embeddings(net, samples, seed):
    """Start the seen tokens' embeddings from LSA of the training texts (kobert_gluon.embed_init)."""
    weight = net.bert.word_embed[0].weight
    vectors, seen = lsa_embeddings(samples, weight.shape[0], weight.shape[1], seed=seed)
    current = weight.data().asnumpy()
    current[seen] = vectors[seen]
    weight.set_data(mx.nd.array(current))
    log.info('word embeddings of %d tokens from LSA of the training texts', int(seen.sum()))


# ---------------------------------------------------------------- evaluation

def evaluate(net, tokenizer, texts, labels, cfg, clusters=None):
    """Loss, accuracy and macro-F1 on labelled model texts (clusters: mode 5's ids), with the probabilities."""
    probs = Predictor(net, tokenizer, TOPICS, cfg.max_len, cfg.batch_size,
                      inference=False).predict_proba(texts, clusters=clusters)
    pred = probs.argmax(axis=1)
    return {
        'eval_loss': float(log_loss(labels, probs, labels=np.arange(len(TOPICS)))),
        'eval_accuracy': float(accuracy_score(labels, pred)),
        'eval_macro_f1': float(f1_score(labels, pred, average='macro', labels=np.unique(labels))),
    }, probs


class Inputs:
    """What the model reads for one split: texts, and for mode 5 the cluster ids."""

    def __init__(self, texts, clusters=None):
        self.texts = list(texts)
        self.clusters = clusters


def cluster_inputs(cfg, train_df, eval_df):
    """(train Inputs, eval Inputs, centroids, cluster meta): modes 4 and 5 embed the articles,
    fit k-means on the training split only and place both splits in the clusters."""
    if cfg.mode not in CLUSTER_MODES:
        return Inputs(train_df['text']), Inputs(eval_df['text']), None, None
    encoder = clusters_lib.get_encoder(cfg.cluster_encoder)
    train_vec = clusters_lib.embed(encoder, list(train_df['text']), cfg.cache_dir)
    eval_vec = clusters_lib.embed(encoder, list(eval_df['text']), cfg.cache_dir)
    centroids = clusters_lib.fit_centroids(train_vec, cfg.clusters, cfg.seed)
    out = []
    for df, vec in ((train_df, train_vec), (eval_df, eval_vec)):
        ids = clusters_lib.assign(vec, centroids)
        texts = clusters_lib.with_cluster(df['text'], ids) if cfg.mode == 4 else df['text']
        out.append(Inputs(texts, ids))
    log.info('%d clusters of %s embeddings (k-means on the training split)', cfg.clusters, encoder.key)
    meta = {'k': cfg.clusters, 'encoder': cfg.cluster_encoder, 'encoder_key': encoder.key}
    return out[0], out[1], centroids, meta


# ---------------------------------------------------------------- training

class Run:
    """One output directory: config, checkpoints, metrics, log."""

    def __init__(self, output_dir):
        self.dir = output_dir
        self.ckpt = os.path.join(output_dir, CHECKPOINTS)

    def path(self, *names):
        return os.path.join(self.dir, *names)

    def state(self):
        try:
            with open(os.path.join(self.ckpt, 'state.json'), encoding='utf-8') as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def write_json(self, name, obj):
        atomic_write_text(self.path(name), json.dumps(obj, ensure_ascii=False, indent=2))


def prepare_run(cfg, overwrite=False):
    """The run directory, and the state to resume from (None for a fresh start)."""
    run = Run(cfg.output_dir)
    state = run.state()
    if os.path.isdir(run.dir) and os.listdir(run.dir) and not overwrite:
        try:
            with open(run.path('train_config.json'), encoding='utf-8') as f:
                saved = json.load(f)
        except (OSError, ValueError):
            saved = None
        if saved != cfg.to_dict():
            raise UserError('%s already holds another run: choose another --output_dir or pass --overwrite'
                            % run.dir)
        if state and state.get('finished'):
            raise UserError('%s holds a finished run; pass --overwrite to train again' % run.dir)
    elif overwrite and os.path.isdir(run.dir):
        shutil.rmtree(run.dir)
        state = None
    os.makedirs(run.ckpt, exist_ok=True)
    return run, state


def mask_tokens(ids, rate, mask_id):
    """A copy of ids with about `rate` of its tokens (not [CLS]/[SEP]) replaced by [MASK]:
    a regulariser for small data. Uses numpy's global stream, seeded per epoch."""
    if not rate:
        return ids
    hit = np.random.random_sample(len(ids)) < rate
    hit[0] = hit[-1] = False
    return np.where(hit, mask_id, ids).astype(ids.dtype)


def lr_at(step, total, warmup, lr):
    """Linear warmup to lr, then linear decay to 0 (the original's schedule)."""
    if step < warmup:
        return lr * step / warmup
    return max(lr - (step - warmup) * lr / max(total - warmup, 1), 0.0)


def train(cfg, overwrite=False):
    """Train, evaluate each epoch, save each epoch, stop early, reload the best. Returns metrics."""
    # Everything that can fail on the user's input fails before the run directory exists.
    train_df, train_y, eval_df, eval_y = load_data(cfg)
    tokenizer = KoBERTTokenizer.load(cfg.kobert_dir)
    train_in, eval_in, centroids, cluster_meta = cluster_inputs(cfg, train_df, eval_df)
    with_ids = cfg.mode == 5  # the model itself reads cluster ids
    net, body = build_model(cfg, tokenizer, num_clusters=cfg.clusters if with_ids else 0)
    samples = [tokenizer.encode(t, cfg.max_len) for t in train_in.texts]
    if cfg.embed_init == 'lsa':
        if body:
            raise UserError('--embed_init lsa is for training from scratch, not on a pretrained body')
        init_embeddings(net, samples, cfg.seed)
    run, state = prepare_run(cfg, overwrite)
    _log_to(run.path('log.txt'))
    run.write_json('train_config.json', cfg.to_dict())
    meta = {'config': MODEL_CONFIGS[cfg.model].to_dict(), 'topics': list(TOPICS), 'mode': cfg.mode,
            'max_len': cfg.max_len, 'dropout': cfg.dropout, 'vocab': tokenizer.info(),
            'pretrained': os.path.basename(body) if body else None}
    if cluster_meta:
        meta['clusters'] = cluster_meta
        meta['base_mode'] = cfg.base_mode
    train_clusters = train_in.clusters if with_ids else np.zeros(len(samples), dtype=np.int32)
    eval_ids = eval_in.clusters if with_ids else None

    sample_lengths = [len(s) for s in samples]

    def make_sampler():
        # FixedBucketSampler shuffles its own lists in place, so each epoch gets a fresh one: the
        # order then depends only on this epoch's seed, and a resumed run sees the same batches.
        return nlp.data.FixedBucketSampler(sample_lengths, batch_size=cfg.batch_size,
                                           num_buckets=min(cfg.num_buckets, len(samples)), shuffle=True)

    batchify = nlp.data.batchify.Tuple(nlp.data.batchify.Pad(pad_val=tokenizer.pad_id, ret_length=True,
                                                             dtype='float32'),
                                       nlp.data.batchify.Stack('float32'), nlp.data.batchify.Stack('float32'))
    n_batches = len(make_sampler())
    steps_per_epoch = -(-n_batches // cfg.accumulate)
    total_steps = steps_per_epoch * cfg.epochs
    warmup = int(total_steps * cfg.warmup_ratio)

    trainer = gluon.Trainer(net.collect_params(), 'bertadam',
                            {'learning_rate': cfg.lr, 'epsilon': cfg.epsilon, 'wd': cfg.weight_decay})
    for p in net.collect_params('.*beta|.*gamma|.*bias').values():
        p.wd_mult = 0.0
    params = [p for p in net.collect_params().values() if p.grad_req != 'null']
    for p in params:
        p.grad_req = 'add'  # gradients accumulate over cfg.accumulate batches
    net.hybridize(static_alloc=True)
    mask_id = tokenizer.vocab[tokenizer.vocab.mask_token]

    def batches():
        for idx in make_sampler():
            batch = [(mask_tokens(samples[j], cfg.token_dropout, mask_id), train_y[j], train_clusters[j])
                     for j in idx]
            (ids, valid), label, cluster = batchify(batch)
            ids, valid, label, cluster = (a.as_in_context(mx.cpu()) for a in (ids, valid, label, cluster))
            yield [ids, mx.nd.zeros_like(ids), valid.astype('float32')] + ([cluster] if with_ids else []), label

    history, step, best, best_epoch, bad = [], 0, -1.0, 0, 0
    start_epoch = 1
    if state:
        start_epoch = state['epoch'] + 1
        history, step, best, best_epoch, bad = (state['history'], state['step'], state['best'],
                                                state['best_epoch'], state['bad_epochs'])
        net.load_parameters(os.path.join(run.ckpt, 'epoch-%d.params' % state['epoch']))
        trainer.load_states(os.path.join(run.ckpt, 'epoch-%d.states' % state['epoch']))
        log.info('resumed from epoch %d', state['epoch'])
    log.info('train %d / eval %d rows, mode %d, %s, %d batches/epoch, %d steps, warmup %d',
             len(train_df), len(eval_df), cfg.mode, cfg.model, n_batches, total_steps, warmup)

    for epoch in range(start_epoch, cfg.epochs + 1):
        if cfg.patience and bad >= cfg.patience:
            break
        np.random.seed((cfg.seed * 1000 + epoch) % 2 ** 32)   # batch order of this epoch
        mx.random.seed((cfg.seed * 1000 + epoch) % 2 ** 31)   # dropout of this epoch
        tic = time.time()
        step, loss, accuracy = _train_epoch(net, trainer, params, batches(), n_batches, epoch, cfg,
                                            lambda s: lr_at(s, total_steps, warmup, cfg.lr), step)
        scores, _ = evaluate(net, tokenizer, eval_in.texts, eval_y, cfg, eval_ids)
        record = dict({'epoch': epoch, 'loss': loss, 'train_accuracy': accuracy,
                       'lr': trainer.learning_rate, 'seconds': time.time() - tic}, **scores)
        history.append(record)
        score = scores['eval_' + cfg.early_stop]
        improved = score > best
        if improved:
            best, best_epoch, bad = score, epoch, 0
        else:
            bad += 1
        log.info('epoch %d: loss %.4f, train acc %.4f, eval acc %.4f, eval macro-F1 %.4f, %.0fs%s', epoch,
                 record['loss'], record['train_accuracy'], scores['eval_accuracy'], scores['eval_macro_f1'],
                 record['seconds'], ' (best)' if improved else '')
        _save_epoch(run, net, trainer, meta, centroids, epoch, {
            'epoch': epoch, 'step': step, 'best': best, 'best_epoch': best_epoch, 'bad_epochs': bad,
            'history': history})
        run.write_json('metrics.json', history)

    return _finish(run, cfg, tokenizer, eval_df, eval_in, eval_ids, eval_y, centroids, history, best_epoch)


def _train_epoch(net, trainer, params, batches, n_batches, epoch, cfg, schedule, step):
    """One pass over the training batches, gradients accumulated over cfg.accumulate of them.
    Returns (optimizer steps so far, mean loss, training accuracy)."""
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    metric, total_loss, seen, window_loss, window_n = mx.metric.Accuracy(), 0.0, 0, 0.0, 0
    net.collect_params().zero_grad()
    bar = tqdm(enumerate(batches), total=n_batches, desc='epoch %d' % epoch, unit='batch', disable=None)
    for i, (inputs, label) in bar:
        if i % cfg.accumulate == 0:
            step += 1
            trainer.set_learning_rate(schedule(step))
        with autograd.record():
            out = net(*inputs)
            loss = loss_fn(out, label).mean()
        loss.backward()
        accumulated = i % cfg.accumulate + 1
        if accumulated == cfg.accumulate or i == n_batches - 1:
            trainer.allreduce_grads()
            nlp.utils.clip_grad_global_norm(params, cfg.max_grad_norm)
            trainer.update(accumulated)
            net.collect_params().zero_grad()
        value = float(loss.asscalar())
        metric.update([label], [out])
        total_loss += value * label.shape[0]
        seen += label.shape[0]
        window_loss += value
        window_n += 1
        if (i + 1) % cfg.log_interval == 0:
            log.info('[Epoch %d Batch %d/%d] loss=%.4f, lr=%.10f, acc=%.3f', epoch, i + 1, n_batches,
                     window_loss / window_n, trainer.learning_rate, metric.get()[1])
            window_loss, window_n = 0.0, 0
        bar.set_postfix(loss='%.3f' % value, acc='%.3f' % metric.get()[1])
    bar.close()
    return step, total_loss / seen, metric.get()[1]


def _save_epoch(run, net, trainer, meta, centroids, epoch, state):
    """Params (with meta) and optimizer state of this epoch, then state.json naming them, last."""
    model_lib.save(net, os.path.join(run.ckpt, 'epoch-%d.params' % epoch), meta, centroids)
    with atomic_path(os.path.join(run.ckpt, 'epoch-%d.states' % epoch)) as tmp:
        trainer.save_states(tmp)
    atomic_write_text(os.path.join(run.ckpt, 'state.json'), json.dumps(state, indent=2))
    old = os.path.join(run.ckpt, 'epoch-%d.states' % (epoch - 1))
    if os.path.exists(old):  # optimizer state is needed only to resume from the last epoch
        os.remove(old)


def _finish(run, cfg, tokenizer, eval_df, eval_in, eval_ids, eval_y, centroids, history, best_epoch):
    """Reload the best epoch as model.params, write its predictions on the evaluation set."""
    best_params = os.path.join(run.ckpt, 'epoch-%d.params' % best_epoch)
    net, meta = model_lib.load(best_params)
    net.hybridize(static_alloc=True)
    meta['best_epoch'] = best_epoch
    model_lib.save(net, run.path('model.params'), meta, centroids)
    scores, probs = evaluate(net, tokenizer, eval_in.texts, eval_y, cfg, eval_ids)
    pred = probs.argmax(axis=1)
    out = pd.DataFrame({'line': eval_df['line'], 'text': eval_in.texts,
                        'category': [TOPICS[i] for i in eval_y], 'predicted': [TOPICS[i] for i in pred],
                        'probability': probs.max(axis=1)})
    for j, topic in enumerate(TOPICS):
        out['p_' + topic] = probs[:, j]
    if eval_in.clusters is not None:
        out.insert(2, 'cluster', eval_in.clusters)
        scores.update(cluster_scores(eval_in.clusters, eval_y))
    with atomic_path(run.path('predictions.csv')) as tmp:
        out.to_csv(tmp, index=False, encoding='utf-8-sig', float_format='%.6f')
    state = dict(run.state(), finished=True)
    atomic_write_text(os.path.join(run.ckpt, 'state.json'), json.dumps(state, indent=2))
    summary = dict(scores, best_epoch=best_epoch, epochs_run=len(history))
    run.write_json('best.json', summary)
    log.info('best epoch %d: eval accuracy %.4f, macro-F1 %.4f -> %s', best_epoch, scores['eval_accuracy'],
             scores['eval_macro_f1'], run.path('model.params'))
    return summary


def cluster_scores(clusters, labels):
    """How well the clusters alone separate the topics of the evaluation set."""
    from sklearn.metrics import normalized_mutual_info_score
    return {'cluster_nmi': float(normalized_mutual_info_score(labels, clusters)),
            'cluster_purity': clusters_lib.purity(clusters, labels)}


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
    root.setLevel(logging.INFO)

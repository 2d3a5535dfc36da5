"""Fine-tuning with the original's recipe, resumable and seeded.

The recipe (KoBERT's GluonNLP example, as the original used it): bertadam, lr 5e-5, epsilon 1e-9,
weight decay 0.01 except LayerNorm and biases, linear warmup over 10% of the steps then linear
decay, gradients accumulated over 4 batches, global-norm clipping at 1 of the accumulated
gradient (as GluonNLP's finetune_classifier clips before dividing), softmax cross-entropy.
Optimizer update k runs at lr_at(k - 1): the first at the schedule's start, the last just
before it reaches 0.

Each epoch's random streams (batch order, dropout) are seeded from (seed, epoch), so a run that
resumes from an epoch checkpoint continues exactly as an uninterrupted one.
"""
import logging
import os

import mxnet as mx
import numpy as np
import pandas as pd

from kobert_gluon import clusters as clusters_lib
from kobert_gluon import devices as devices_lib
from kobert_gluon import hub
from kobert_gluon import model as model_lib
from kobert_base.atomic import atomic_path
from kobert_gluon.embed_init import lsa_embeddings
from kobert_gluon.epochs import Loop
from kobert_gluon.recipe import evaluate
from kobert_gluon.runs import Run, prepare
from kobert_gluon.tokenizer import KoBERTTokenizer
from kobert_base.architectures import ARCHITECTURES
from kobert_base.errors import UserError
from kobert_base.modes import CLUSTER_MODES
from kobert_base.topics import TOPICS, untrained_topics
from preprocess import check_topics, load_data, with_cluster

log = logging.getLogger('kobert_news.train')


def pretrained_body(cfg):
    """Path of KoBERT's pretrained params, or None (training from scratch).

    'kobert' requires KoBERT's file (found or downloaded); 'auto' uses it for the kobert
    configuration when it can be had and otherwise trains from scratch with a warning. 'hf:DIR'
    converts a transformers BERT checkpoint (kobert_gluon.export.hf), 'gluonnlp' takes GluonNLP's model zoo."""
    if cfg.pretrained == 'none':
        return None
    if cfg.pretrained.startswith('hf:') or cfg.pretrained == 'gluonnlp':
        from kobert_gluon import zoo
        from kobert_gluon.export import hf
        tokenizer = KoBERTTokenizer.load(cfg.kobert_dir)
        if cfg.pretrained == 'gluonnlp':
            if cfg.model != 'kobert':
                raise UserError("GluonNLP's %s body fits only --model kobert, not %s" % (zoo.DATASET, cfg.model))
            return zoo.zoo_body(tokenizer)
        return hf.import_body(cfg.pretrained[3:], ARCHITECTURES[cfg.model], tokenizer,
                              cfg.cache_dir and os.path.join(cfg.cache_dir, 'hf-import'))
    if cfg.pretrained not in ('auto', 'kobert'):
        return hub.fetch(hub.PARAMS, cfg.kobert_dir, explicit=cfg.pretrained)
    if cfg.model != 'kobert':
        log.info("configuration '%s' has no pretrained body: training from scratch", cfg.model)
        return None
    try:
        return hub.fetch(hub.PARAMS, cfg.kobert_dir)
    except UserError as e:
        if cfg.pretrained == 'kobert':
            raise
        log.warning("KoBERT's pretrained body is not available (%s): training kobert FROM SCRATCH, "
                    "which will not reach the original's accuracy", e)
        return None


def build_model(cfg, tokenizer, samples=(), num_clusters=0, ctx=mx.cpu()):
    """(net, pretrained body path): checked to save in the original's layout before any training."""
    mcfg = ARCHITECTURES[cfg.model]
    if len(tokenizer.vocab) != mcfg.vocab_size:
        raise UserError('the vocabulary has %d tokens; configuration %s needs %d'
                        % (len(tokenizer.vocab), cfg.model, mcfg.vocab_size))
    mx.random.seed(cfg.seed)
    net = model_lib.build_classifier(mcfg, len(TOPICS), dropout=cfg.dropout, ctx=ctx, num_clusters=num_clusters)
    model_lib.check_layout(net)
    body = pretrained_body(cfg)
    if body:
        if cfg.embed_init == 'lsa':
            raise UserError('--embed_init lsa is for training from scratch, not on a pretrained body: '
                            'pass --pretrained none, or leave out --embed_init')
        model_lib.load_pretrained_body(net, body, ctx)
        log.info('BERT body from %s', body)
    elif cfg.embed_init == 'lsa':  # word embeddings of the seen tokens from LSA of the training texts
        weight = net.bert.word_embed[0].weight
        vectors, seen = lsa_embeddings(samples, weight.shape[0], weight.shape[1], seed=cfg.seed)
        current = weight.list_data()[0].asnumpy()
        current[seen] = vectors[seen]
        weight.set_data(mx.nd.array(current))
        log.info('word embeddings of %d tokens from LSA of the training texts', int(seen.sum()))
    return net, body


def cluster_inputs(cfg, train, evaluation):
    """(train texts, eval texts, train ids, eval ids, centroids, cluster meta): modes 4 and 5 embed the
    articles, fit k-means on the training split only and place both splits in the clusters."""
    if cfg.mode not in CLUSTER_MODES:
        return train.texts, evaluation.texts if evaluation else [], None, None, None, None
    encoder = clusters_lib.get_encoder(cfg.cluster_encoder, cfg.kobert_dir)
    vectors = [clusters_lib.embed(encoder, d.texts, cfg.cache_dir) for d in (train, evaluation) if d]
    centroids = clusters_lib.fit_centroids(vectors[0], cfg.clusters, cfg.seed)
    ids = [clusters_lib.assign(v, centroids) for v in vectors] + [np.zeros(0, dtype=np.int32)]
    texts = [with_cluster(d.texts, i) if cfg.mode == 4 else d.texts for d, i in zip((train, evaluation), ids) if d]
    log.info('%d clusters of %s embeddings (k-means on the training split)', cfg.clusters, encoder.key)
    meta = {'k': cfg.clusters, 'encoder': cfg.cluster_encoder, 'encoder_key': encoder.key}
    return texts[0], texts[1] if evaluation else [], ids[0], ids[1], centroids, meta


def train(cfg, overwrite=False):
    """One run on --data_path (and --eval_path or the held-out --test_size). Returns the summary."""
    train_data, eval_data = load_data(cfg, cfg.base_mode)
    return fit(cfg, train_data, eval_data, overwrite)


def fit(cfg, train_data, eval_data, overwrite=False, on_update=None):
    """Train on train_data, evaluate on eval_data (None: no evaluation) after each epoch, save each
    epoch, stop early, keep the best. Everything that can fail on the input fails before the run
    folder is touched. on_update(step, lr): called after each optimizer update."""
    check_topics(train_data, eval_data)
    contexts = devices_lib.check(cfg)  # before the vocabulary and the model: a bad device flag costs nothing
    tokenizer = KoBERTTokenizer.load(cfg.kobert_dir)
    train_texts, eval_texts, train_ids, eval_ids, centroids, cluster_meta = cluster_inputs(cfg, train_data, eval_data)
    samples = [tokenizer.encode(t, cfg.max_len) for t in train_texts]
    devices = devices_lib.from_config(cfg, contexts)  # with --kvstore dist_*, this joins the other workers
    run = Run(cfg.output_dir)
    try:
        net, body = build_model(cfg, tokenizer, samples, num_clusters=cfg.clusters if cfg.mode == 5 else 0,
                                ctx=devices.ctx)
        fingerprint = '%s/%s' % (train_data.fingerprint(), eval_data.fingerprint() if eval_data else '-')
        state = open_run(run, cfg, fingerprint, overwrite, devices)
        meta = {'config': ARCHITECTURES[cfg.model].to_dict(), 'topics': list(TOPICS), 'mode': cfg.mode,
                'max_len': cfg.max_len, 'dropout': cfg.dropout, 'vocab': tokenizer.info(),
                'pretrained': os.path.basename(body) if body else None,
                'untrained_topics': untrained_topics(TOPICS, train_data.labels)}
        if cluster_meta:
            meta.update(clusters=cluster_meta, base_mode=cfg.base_mode)
        meta['training_data'] = train_data.describe()  # kobert-news evaluate says when it is given this data
        loop = Loop(cfg, run, net, tokenizer, meta, centroids, fingerprint, on_update, devices)
        loop.start(state)
        evaluation = (eval_texts, eval_data.labels, eval_ids if cfg.mode == 5 else None) if eval_data else None
        history, best_epoch = loop.run(samples, train_data.labels, train_ids if cfg.mode == 5 else None, evaluation)
        if devices.distributed:
            devices.in_sync(net)
        if not devices.writer:
            return None
        return finish(run, cfg, tokenizer, eval_data, eval_texts, eval_ids, centroids, history, best_epoch)
    except BaseException as e:
        devices_lib.failed(devices, e)  # a failed worker must not wait for the others on its way out
        raise
    finally:
        run.unlock()


def open_run(run, cfg, fingerprint, overwrite, devices):
    """The state to resume from, or None. Worker 0 locks, checks and (with overwrite) clears the run
    folder; the other workers then read its state from the same folder, and all must agree."""
    state = prepare(run, cfg.to_dict(), fingerprint, overwrite) if devices.writer else None
    if not devices.distributed:
        return state
    devices.broadcast([0])  # every worker waits here until worker 0 has prepared the folder
    if not devices.writer:
        state = run.state() if run.is_run() else None
    epoch = state['epoch'] if state else 0
    if devices.broadcast([epoch])[0] != epoch:
        raise UserError('worker %d sees %s at epoch %d, worker 0 at another: the workers must share --output_dir '
                        '(one folder on a shared file system)' % (devices.rank, cfg.output_dir, epoch))
    return state


def finish(run, cfg, tokenizer, eval_data, eval_texts, eval_ids, centroids, history, best_epoch):
    """Copy the best epoch to model.params, write its evaluation predictions and best.json, and last
    mark the run finished. Each of these follows from the checkpoints, so a kill in between is
    mended by running the same command again."""
    net, meta = model_lib.load(run.checkpoint(best_epoch))
    meta['best_epoch'] = best_epoch
    model_lib.save(net, run.path('model.params'), meta, centroids)
    summary = {'best_epoch': best_epoch, 'epochs_run': len(history)}
    if eval_data is not None:
        scores, probs = evaluate(net, tokenizer, eval_texts, eval_data.labels, cfg,
                                 eval_ids if cfg.mode == 5 else None)
        pred = probs.argmax(axis=1)
        out = pd.DataFrame({'record': eval_data.records, 'text': eval_texts,
                            'category': [TOPICS[i] for i in eval_data.labels], 'predicted': [TOPICS[i] for i in pred],
                            'probability': probs.max(axis=1)})
        for j, topic in enumerate(TOPICS):
            out['p_' + topic] = probs[:, j]
        if eval_ids is not None:
            out.insert(2, 'cluster', eval_ids)
            scores.update(cluster_nmi=_nmi(eval_ids, eval_data.labels),
                          cluster_purity=clusters_lib.purity(eval_ids, eval_data.labels))
        with atomic_path(run.path('predictions.csv')) as tmp:
            out.to_csv(tmp, index=False, encoding='utf-8-sig', float_format='%.6f')
        summary.update(scores)
        log.info('best epoch %d: eval accuracy %.4f, macro-F1 %.4f -> %s', best_epoch, scores['eval_accuracy'],
                 scores['eval_macro_f1'], run.path('model.params'))
    else:
        log.info('trained %d epochs without evaluation -> %s', best_epoch, run.path('model.params'))
    run.write_json('best.json', summary)
    run.write_state(dict(run.state(), finished=True))
    return summary


def _nmi(clusters, labels):
    from sklearn.metrics import normalized_mutual_info_score
    return float(normalized_mutual_info_score(labels, clusters))

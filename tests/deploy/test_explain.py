"""Explanations on the deploy path: word occlusion on the ONNX Runtime engine (no MXNet here), the
same numbers as the Gluon predictor's occlusion of the same weight (kobert-news explain --method occlusion in
the legacy environment), kobert-news explain --model_dir and its bad input."""
import json
import os

import numpy as np
import pandas as pd
import pytest

from tests.conftest import HEADLINES, SAMPLE, headlines
from tests.deploy.conftest import DEFAULT_WEIGHT, legacy
from tests.deploy.test_batch import kobert_news


@pytest.fixture(scope='module')
def engines(tiny, default_export):
    from kobert_news.engines.onnx import OnnxEngine
    return {'tiny': OnnxEngine.load(tiny[1]), 'shipped': OnnxEngine.load(default_export)}


def test_the_words_tokens_are_the_texts(engines):
    """A word's tokens alone, word after word, are the engine's tokens of the whole text, cut where
    it cuts them (max_len), for real headlines and title + body articles."""
    from kobert_news.explain.occlusion import word_pieces
    from preprocess import NewsProcessor
    engine = engines['shipped']
    texts = headlines(200, 150) + NewsProcessor(3).texts(pd.read_csv(SAMPLE))
    for text in texts:
        for need in (6, 30, 62):
            words, pieces = word_pieces(engine, text, need)
            ids = engine.encode([text])[0] if need == engine.max_len - 2 else None
            flat = [p for own in pieces for p in own]
            assert len(flat) == min(need, len(engine.encode([text])[0]) - 2) and words == text.split()
            if ids is not None:
                assert [ids[0]] + flat + [ids[-1]] == list(ids), text


@pytest.mark.parametrize('which', ['shipped', 'tiny'])
def test_top_word_is_the_one_whose_deletion_lowers_the_topic_most(engines, which):
    """Each word's attribution ('remove') is the topic's probability minus its probability once the
    word is deleted from the text, as the engine classifies the shorter text."""
    from kobert_news.explain.occlusion import Occlusion
    engine = engines[which]
    texts = headlines(40, 150)
    for text, e in zip(texts, Occlusion(engine).explain(texts, baseline='remove')):
        words = text.split()
        probs, _ = engine.predict_articles([text] + [' '.join(words[:i] + words[i + 1:]) for i in range(len(words))])
        drops = probs[0, e.target] - probs[1:, e.target]
        np.testing.assert_allclose(e.probs, probs[0], atol=1e-5)
        np.testing.assert_allclose(e.attributions, drops, atol=1e-5)
        assert drops[int(np.argmax(e.attributions))] >= drops.max() - 1e-5


@pytest.mark.parametrize('baseline', ['remove', 'mask', 'pad'])
def test_onnx_and_gluon_occlusion_agree(tiny, default_export, baseline, tmp_path):
    """kobert-news explain --method occlusion on the weight file (Gluon) and kobert-news explain --model_dir on
    its export (ONNX Runtime): the same words, topics and attributions to 1e-4; for the tiny mode-3
    weight on title + body articles (words past max_len included) and for the shipped weight."""
    src = tmp_path / 'titles.csv'
    pd.DataFrame({'title': headlines(30, 150)}).to_csv(str(src), index=False)
    for weight, folder, data in ((tiny[0], tiny[1], SAMPLE), (DEFAULT_WEIGHT, default_export, src)):
        out = tmp_path / ('%s.json' % os.path.basename(folder))
        legacy('-m', 'kobert_news', 'explain', '--method', 'occlusion', '--baseline', baseline,
               '--gluon_weight_path', weight, '--data_path', data, '--save_path', tmp_path / 'gluon.json')
        r = kobert_news('explain', '--model_dir', folder, '--baseline', baseline, '--data_path', data,
                        '--save_path', out)
        assert r.returncode == 0, r.stderr
        gluon, onnx = (json.loads((tmp_path / n).read_text(encoding='utf-8')) for n in ('gluon.json', out.name))
        assert len(onnx) == len(gluon) == len(pd.read_csv(str(data)))
        for g, o in zip(gluon, onnx):
            assert (o['words'], o['words_read'], o['topic'], o['target']) == \
                (g['words'], g['words_read'], g['topic'], g['target'])
            assert (o['method'], o['baseline']) == ('occlusion', baseline)
            np.testing.assert_allclose(o['attributions'], g['attributions'], atol=1e-4)
            assert max(abs(o['probabilities'][t] - p) for t, p in g['probabilities'].items()) <= 1e-4
        if folder == tiny[1]:
            assert any(o['words_read'] < len(o['words']) for o in onnx)  # long articles, cut at max_len


def test_python_api_on_an_export_folder(default_export):
    import kobert_news
    clf = kobert_news.load(model_dir=default_export)
    got = clf.explain([{'title': HEADLINES[0]}, {'title': ''}, {'title': HEADLINES[1]}], target='economy')
    assert [g['topic'] for g in got] == ['sport', None, 'economy'] and got[0]['target'] == 'economy'
    assert got[0]['method'] == 'occlusion' and got[0]['words'] == HEADLINES[0].split()
    assert got[1]['reason'] == 'no text for mode 2'
    from kobert_base.errors import UserError
    with pytest.raises(UserError, match='integrated gradients need the gradients'):
        clf.explain([{'title': HEADLINES[0]}], method='integrated_gradients')


def test_explain_command_prints_lines_and_refuses_bad_input(default_export, tmp_path):
    src = tmp_path / 'in.csv'
    pd.DataFrame({'title': HEADLINES[:2] + ['']}).to_csv(str(src), index=False)
    r = kobert_news('explain', '--model_dir', default_export, '--data_path', src)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith('Predicted news topic: sport (') and 'most for sport: ' in lines[0]
    assert lines[2] == 'Predicted news topic: - | record 3 | no text for mode 2'
    report = tmp_path / 'why.html'
    assert kobert_news('explain', '--model_dir', default_export, '--data_path', src, '--save_path', report,
                       '--baseline', 'pad').returncode == 0
    assert 'word occlusion' in report.read_text(encoding='utf-8') and 'replaced by [PAD]' in \
        report.read_text(encoding='utf-8')
    empty = tmp_path / 'empty.csv'
    pd.DataFrame({'title': ['', ' ']}).to_csv(str(empty), index=False)
    for args, phrase in ((('--data_path', empty), 'no row of'),
                         (('--data_path', src, '--method', 'integrated_gradients'), 'integrated gradients need'),
                         (('--data_path', src, '--gluon_weight_path', DEFAULT_WEIGHT), 'both name the model'),
                         (('--data_path', src, '--target', 'weather'), 'invalid choice'),
                         (('--data_path', src, '--save_path', src), 'is the input')):
        r = kobert_news('explain', '--model_dir', default_export, *args)
        assert r.returncode == 2 and 'Traceback' not in r.stderr, r.stderr
        assert r.stderr.strip().splitlines()[-1].startswith('error: ') and phrase in r.stderr, r.stderr
    assert len(os.listdir(str(tmp_path))) == 3  # nothing written by the refused runs

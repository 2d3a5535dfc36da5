"""A stand-in for KoBERT's .spiece, and a KoBERT hub on a loopback port to serve it.

The hub serves KoBERT's vocabulary only as kobert_news_wiki_ko_cased-1087f8699e.spiece, whose
bytes are not here. What it must be follows from KoBERT: it replaced the v0.1 model + json pair
with one file (KoBERT issue #6), made by editing the v0.1 sentencepiece model's protobuf so that
'[CLS] 감사합니다. [SEP]' tokenizes to '▁', '[CLS]', '▁감사', '합니다', '.', '▁', '[SEP]' (issue #11),
and its Hugging Face tokenizer, which uses sentencepiece ids as they are, gives the json's ids
([2, 4958, 6855, 2046, 7088, 1050, 7843, 54, 3] for '한국어 모델을 공유합니다.'). So the stand-in is
the v0.1 model with its pieces put in the json's order (8,002 pieces, as the json has tokens):
- [UNK] is piece 0 and the model's one UNKNOWN piece (sentencepiece maps every unknown piece to it);
- [PAD] [CLS] [SEP] [MASK] are pieces 1-4, USER_DEFINED: the type sentencepiece emits from text as
  one piece, as issue #11 shows for [CLS] and [SEP] (a CONTROL piece is never produced from text);
- every other piece keeps its v0.1 score and type; v0.1's '<unk>', '<s>', '</s>' are gone (the
  json has no such tokens).
Built so, its md5 starts with the checksum KoBERT publishes for the .spiece (hub.CHECKSUMS): 40
bits that other bytes match once in 10^12 tries, so it is KoBERT's file itself, and passes the
check as it is. The variants (respelled or swapped pieces) are not: tests register their checksums.
"""
import contextlib
import http.server
import json
import os
import threading

from sentencepiece import sentencepiece_model_pb2 as pb  # needs protobuf (pinned in requirements.txt)

from kobert_gluon import hub

SPECIALS = ['[UNK]', '[PAD]', '[CLS]', '[SEP]', '[MASK]']


def build_standin(pair_dir, dest, rename=None, swap=None):
    """Write the stand-in .spiece to dest (returns dest). Variants for the tests: rename
    {token: spelling} respells a piece; swap (a, b) exchanges two pieces' places (ids)."""
    model = pb.ModelProto()
    with open(os.path.join(pair_dir, hub.SP_MODEL), 'rb') as f:
        model.ParseFromString(f.read())
    with open(os.path.join(pair_dir, hub.VOCAB_JSON), encoding='utf-8') as f:
        order = list(json.load(f)['idx_to_token'])
    assert order[:5] == SPECIALS, order[:5]
    if swap:
        i, j = order.index(swap[0]), order.index(swap[1])
        order[i], order[j] = order[j], order[i]
    v01 = {p.piece: p for p in model.pieces}
    Piece = pb.ModelProto.SentencePiece
    pieces = []
    for token in order:
        piece = Piece(piece=token, score=0.0, type=Piece.UNKNOWN if token == '[UNK]' else Piece.USER_DEFINED)
        if token not in SPECIALS:
            piece.CopyFrom(v01[token])
        piece.piece = (rename or {}).get(token, token)
        pieces.append(piece)
    del model.pieces[:]
    model.pieces.extend(pieces)
    with open(dest, 'wb') as f:
        f.write(model.SerializeToString())
    return dest


@contextlib.contextmanager
def serve(routes):
    """An HTTP server on 127.0.0.1 answering GET path -> bytes from routes (404 otherwise).
    Yields (base URL, list of the paths requested)."""
    requested = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            requested.append(self.path)
            body = routes.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield 'http://127.0.0.1:%d/' % httpd.server_address[1], requested
    finally:
        httpd.shutdown()
        httpd.server_close()

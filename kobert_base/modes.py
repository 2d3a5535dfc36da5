"""The text a model reads, by mode: the original's text layouts and the cluster hints of modes 4 and 5."""

# The original's text layouts (its src/preprocess/processor.py): mode 3 has a double colon and six
# spaces, mode 4 one colon and five. Spaces collapse in the tokenizer; the colon is a token.
TEXT_FORMATS = {3: '기사제목:: {title}      기사본문: {body}', 4: '기사제목: {title}     기사본문: {body}'}
CLUSTER_PREFIX = '군집 {cluster} '  # mode 4: "군집 3 기사제목: ... 기사본문: ..."
MODES = {1: 'body only', 2: 'title only', 3: 'title + body',
         4: 'title + body, cluster id in the text', 5: 'title + body, cluster vector at [CLS]'}
CLUSTER_MODES = (4, 5)

"""Write the per-source READMEs and the index from stats.json (run after prepare.py)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

S = json.load(open(os.environ.get("PREP_STATS", "/work/prep/stats.json")))
C = S["commits"]
ROOT = str(Path(__file__).resolve().parents[4])  # the checkout this script is in
OUT = f"{ROOT}/training/data/text"
BENCH = f"{ROOT}/benchmarks/data/text"
LABELS = ("Discrimination", "Harassment", "Sexual", "IllegalAndRegulated",
          "DatingAndRomantic", "Profanity")

COMMON_FILTER = (
    "Common processing (all sources): Unicode NFC, every run of whitespace (incl. newlines) "
    "collapsed to one space, ends stripped; rows that are empty or only URLs/punctuation "
    "(no Latin letter) dropped. Duplicates are found on a normalised key (NFKC, lower case, "
    "non-word characters removed). Within a source, copies whose `toxic` disagrees are all "
    "dropped; otherwise one copy is kept, in the most held-out split (test > dev > train), and "
    "label cells the copies disagree on become unknown. A text already kept by an earlier source "
    "(order: hatecheck, convabuse, stormfront, toxic_spans, clinc150, banking77, sgd, "
    "topical_chat, wiki_toxicity, wiki_identity, redditbias, hatexplain) is dropped, so no text "
    "is in two sources. Any text that also occurs in the reserved evaluation sets "
    "(`benchmarks/data/text/paradetox`, `.../davidson`) is dropped."
)

CONTAINMENT = (
    "Reserved-set containment (every source): a row is also dropped when its normalised key "
    "*contains*, as whole words, the normalised key of any ParaDetox or Davidson row of 4 or "
    "more words (ParaDetox's toxic sentences were extracted from longer Jigsaw, Reddit, Twitter "
    "and Civil Comments posts, so an exact-match check is not enough: before this check "
    "`toxic_spans` held 91 posts containing a reserved text of 8 or more words). The check "
    "runs one Aho-Corasick automaton (pyahocorasick) over the {n} reserved keys of >= 4 words; "
    "it is deliberately strict: many hits are common 4-word phrases (\"thank you very much\", "
    "\"i don t care\") rather than extracted sentences. Rows dropped this way: "
    "`dropped_contains_reserved_eval_text` below."
)

LEXICON = (
    "Word-list sanity filter: rows this source labels benign are dropped when they match a "
    "small swear-word / slur list (regular expressions in the preparation script: fuck*, shit*, "
    "bitch*, cunt*, dick, cock, pussy, ass, asshole*, bastard*, damn*, crap, piss*, prick, "
    "twat*, wank*, slut*, whore*, porn*, ..., and slurs such as n-word variants, fag/faggot, "
    "tranny, retard*, ...). This keeps `Profanity=0` trustworthy; it is a filter, not a "
    "labeller: no row gets a positive label from the list."
)


def counts(name: str) -> str:
    s = S[name]
    lines = ["| split | toxic=1 | toxic=0 | total |", "|---|---:|---:|---:|"]
    tt = tb = 0
    for sp in ("train", "dev", "test"):
        t, b = s[f"{sp}_toxic"], s[f"{sp}_benign"]
        tt, tb = tt + t, tb + b
        lines.append(f"| {sp} | {t} | {b} | {t + b} |")
    lines.append(f"| **all** | {tt} | {tb} | {tt + tb} |")
    lines += ["", "| label | =1 | =0 | unknown |", "|---|---:|---:|---:|"]
    for lab in LABELS:
        lines.append(f"| {lab} | {s[f'{lab}=1']} | {s[f'{lab}=0']} | {s[f'{lab}=?']} |")
    drops = {k: v for k, v in s.items()
             if (k.startswith("dropped") or k in ("raw", "merged_label_disagreements",
                                                  "raw_user_turns", "files_read")
                 or k.startswith("unique_")) and v}
    lines += ["", "Processing counts: " + ", ".join(f"{k}={v}" for k, v in drops.items()) + "."]
    return "\n".join(lines)


SRC = {
    "hatecheck": dict(
        title="HateCheck functional tests",
        url="https://github.com/paul-rottger/hatecheck-data",
        licence="CC-BY-4.0",
        quote=("`LICENSE`: \"Attribution 4.0 International\" (the full Creative Commons "
               "Attribution 4.0 International Public License text)."),
        cite=("Röttger, Vidgen, Nguyen, Waseem, Margetts, Pierrehumbert (2021), \"HateCheck: "
              "Functional Tests for Hate Speech Detection Models\", ACL 2021."),
        files="`test_suite_cases.csv` (the 3,728 validated cases; the 173 cases excluded by the "
              "authors for low annotator agreement are not used).",
        kind="mixed",
        split=("By template: `split = sha1(\"hatecheck-templ-\" + templ_id) mod 100` → "
               "<70 train, <80 dev, else test, so no template (and none of its identity "
               "substitutions) is in two splits."),
        mapping="""Gold labels are per functionality; our cells (empty = unknown):

| functionality | toxic | Discrimination | Harassment | Sexual, IllegalAndRegulated, DatingAndRomantic | Profanity |
|---|---|---|---|---|---|
| every hateful (`*_h`) case | 1 | 1 | 1 if `direction`=directed, else unknown | 0 | 1 for `profanity_h` or a swear word; unknown for `slur_h`, `spell_*` or a slur; else 0 |
| `profanity_nh` (non-hateful swearing) | 1 | 0 | unknown | 0 | 1 |
| `target_indiv_nh` (abuse of an individual, no protected group) | 1 | 0 | 1 | 0 | 1 if a swear word, else 0 |
| `target_group_nh` (abuse of a non-protected group) | 1 if it has a swear word/slur, else **dropped** (ambiguous) | 0 | unknown | 0 | 1 |
| `slur_reclaimed_nh` | 1 (slur used in-group), except the benign "queer" cases → all 0 | unknown | unknown | 0 | unknown |
| `slur_homonym_nh` ("fags" = cigarettes, "dyke" = dam) | 0 | 0 | 0 | 0 | 0 |
| `counter_quote_nh`, `counter_ref_nh`, `ident_neutral_nh`, `ident_pos_nh`, `negate_neg_nh`, `target_obj_nh` | 0, unless the text contains a swear word or slur: then 1 | 0 (unknown if a slur) | 0 / unknown | 0 | 0 / 1 if a swear word / unknown if only a slur |

"Swear word" / "slur" here means the word lists of the preparation script (see below);
they only decide the Profanity cell and whether counter-speech that quotes a slur or a swear
word is counted as toxic (our policy: quoting a slur or swearing is still flagged).""",
        filtering="",
        notes=("Templates are synthetic but hand-written by the authors and validated by "
               "annotators; sentences are short and clean, close to chat. The leetspeak / "
               "spacing functionalities (`spell_*`) teach robustness to obfuscation."),
    ),
    "convabuse": dict(
        title="ConvAbuse (abuse towards conversational agents)",
        url="https://github.com/amandacurry/convabuse",
        licence="CC-BY-4.0",
        quote=("`LICENSE`: \"Attribution 4.0 International\" (the full Creative Commons "
               "Attribution 4.0 International Public License text)."),
        cite=("Cercas Curry, Abercrombie, Rieser (2021), \"ConvAbuse: Data, Analysis, and "
              "Benchmarks for Nuanced Abuse Detection in Conversational AI\", EMNLP 2021."),
        files="`2_splits/ConvAbuseEMNLP{train,valid,test}.csv`; the text is the `user` column "
              "(the user's turn that was annotated; the context columns are not used).",
        kind="mixed",
        split="The authors' official splits: train → train, valid → dev, test → test.",
        mapping="""Per row, the annotators who gave an `is_abuse` answer vote:
- **abusive** (more than half chose -1, -2 or -3) → `toxic=1`;
  `Discrimination` = 1 if at least half of the abusive votes ticked ableist, homophobic,
  racist, sexist or transphobic, 0 if none did, unknown otherwise;
  `Sexual` = same rule on `sex_harassment`;
  `Harassment` = 1 if at least half of the abusive votes marked the target as the individual
  or the system/agent (abuse aimed at the interlocutor), else unknown;
  `IllegalAndRegulated`, `DatingAndRomantic`, `Profanity` unknown (not annotated).
- **not abusive** (more than half chose 1) → `toxic=0`, all labels 0.
- no majority (ambiguous, 0) → dropped.""",
        filtering=LEXICON,
        notes=("Typed chat with two chatbots (E.L.I.Z.A. and CarbonBot, a climate-change chatbot): short, "
               "informal, sometimes sexual or insulting towards the bot; close to what players "
               "type. The same short turn (\"hi\", \"no\") occurs many times; the dedupe keeps one."),
    ),
    "stormfront": dict(
        title="Hate speech from a white-supremacist forum (Stormfront)",
        url="https://github.com/Vicomtech/hate-speech-dataset",
        licence="CC-BY-SA-3.0-ES",
        quote=("`LICENSE` / README: \"The resources in this repository are licensed under the "
               "Creative Commons Attribution-ShareAlike 3.0 Spain License. To view a copy of "
               "this license, visit http://creativecommons.org/licenses/by-sa/3.0/es/\". "
               "Share-alike: this prepared subset stays under CC BY-SA 3.0 ES."),
        cite=("de Gibert, Perez, García-Pablos, Cuadros (2018), \"Hate Speech Dataset from a "
              "White Supremacy Forum\", ALW2 workshop."),
        files="`annotations_metadata.csv` and the sentence files `all_files/<post>_<n>.txt`.",
        kind="mixed",
        split=("By forum post (all sentences of one post stay together): "
               "`sha1(\"stormfront-post-\" + post id) mod 100` → <70 train, <80 dev, else "
               "test. The repository's `sampled_train`/`sampled_test` are balanced subsets for "
               "the paper's experiments, not an official split of all files, so they are not used."),
        mapping="""- `hate` → `toxic=1`, `Discrimination=1`, all other labels unknown.
- `noHate` → `toxic=0`, all labels 0.
- `relation` (hateful only together with neighbouring sentences) and `idk/skip` → dropped.""",
        filtering=(LEXICON + " The sentences were tokenised by the authors (\"wo n't .\"); "
                   "we undo that (\"won't.\") so that spacing is not a cue for this source."),
        notes=("`noHate` sentences come from a white-supremacist forum: they are benign by the "
               "annotation guidelines but many are politically charged or odd as 'benign' text. "
               "Use them as hard negatives; they are not typical innocent chat."),
    ),
    "toxic_spans": dict(
        title="SemEval-2021 Task 5: Toxic Spans Detection",
        url="https://github.com/ipavlopoulos/toxic_spans",
        licence="CC0-1.0",
        quote=("`LICENSE`: \"Creative Commons Legal Code — CC0 1.0 Universal\" (public domain "
               "dedication). The posts come from the Civil Comments corpus, itself released CC0."),
        cite=("Pavlopoulos, Sorensen, Laugier, Androutsopoulos (2021), \"SemEval-2021 Task 5: "
              "Toxic Spans Detection\", SemEval 2021."),
        files="`SemEval2021/data/tsd_{train,trial,test}.csv` (the span offsets are not kept).",
        kind="toxic-only",
        split="Official: train → train, trial → dev, test → test.",
        mapping=("Every post was selected as toxic in Civil Comments → `toxic=1`; all six "
                 "labels unknown (the spans say where, not which category). Mask the label "
                 "loss and use these rows for the `toxic` / any-label target only."),
        filtering="",
        notes=("News-site comments, often long (several sentences); many are insults "
               "(\"stupid\", \"idiot\") or political abuse. The newer ACL-2022 version of the "
               "file (`ACL2022/data/toxic_spans.csv`, which also has non-toxic posts) is over "
               "the snapshot size limit and was not available."),
    ),
    "clinc150": dict(
        title="CLINC150 intent queries",
        url="https://github.com/clinc/oos-eval",
        licence="CC-BY-3.0",
        quote=("`LICENSE`: \"Creative Commons Legal Code — Attribution 3.0 Unported\"."),
        cite=("Larson et al. (2019), \"An Evaluation Dataset for Intent Classification and "
              "Out-of-Scope Prediction\", EMNLP-IJCNLP 2019."),
        files="`data/data_full.json` (all in-scope and out-of-scope queries).",
        kind="benign-only",
        split="Official: train + oos_train → train, val + oos_val → dev, test + oos_test → test.",
        mapping="Crowd-written assistant requests → `toxic=0`, all labels 0.",
        filtering=LEXICON,
        notes="Short, lower-case, imperative or question-style requests (\"set an alarm for 7\").",
    ),
    "banking77": dict(
        title="Banking77 customer-service queries",
        url="https://github.com/PolyAI-LDN/task-specific-datasets",
        licence="CC-BY-4.0",
        quote=("README: \"The datasets shared on this repository are licensed under the license "
               "found in the LICENSE file.\"; `LICENSE`: \"Attribution 4.0 International\" "
               "(Creative Commons Attribution 4.0 International Public License)."),
        cite=("Casanueva, Temčinas, Gerz, Henderson, Vulić (2020), \"Efficient Intent Detection "
              "with Dual Sentence Encoders\", NLP4ConvAI 2020."),
        files="`banking_data/train.csv`, `banking_data/test.csv`.",
        kind="benign-only",
        split=("Official test → test; the official train is split by text hash "
               "(`sha1(key) mod 100` < 88 → train, else dev)."),
        mapping="Customer queries → `toxic=0`, all labels 0.",
        filtering=LEXICON,
        notes="Real-sounding, sometimes frustrated customer messages (\"my card still hasn't arrived\").",
    ),
    "sgd": dict(
        title="Schema-Guided Dialogue (DSTC8) user turns",
        url="https://github.com/google-research-datasets/dstc8-schema-guided-dialogue",
        licence="CC-BY-SA-4.0",
        quote=("README: \"The SGD and SGD-X datasets are released under CC BY-SA 4.0 license. "
               "For the full license, see LICENSE.txt.\"; `LICENSE.txt`: \"Attribution-ShareAlike "
               "4.0 International\". Share-alike: this prepared subset stays under CC BY-SA 4.0."),
        cite=("Rastogi, Zang, Sunkara, Gupta, Khaitan (2020), \"Towards Scalable Multi-domain "
              "Conversational Agents: The Schema-Guided Dialogue Dataset\", AAAI 2020."),
        files=("`{train,dev,test}/dialogues_NNN.json`, `USER` turns only. 44 of the 181 "
               "dialogue files are ≥ 4 MiB and were not in the snapshot; the 137 others were read."),
        kind="benign-only",
        split=("Official directory (train/dev/test). After de-duplication the rows with the "
               "smallest `sha1(\"sgd-\" + key)` are kept: at most 20,000 train, 3,000 dev, "
               "5,000 test (deterministic sample, to keep the folder small)."),
        mapping="User turns of task-oriented dialogues → `toxic=0`, all labels 0.",
        filtering=LEXICON,
        notes=("Crowd-workers' paraphrases of dialogue outlines: short chat replies (\"yes, "
               "that works\", \"4 please\", \"any other games available?\")."),
    ),
    "topical_chat": dict(
        title="Topical-Chat conversations",
        url="https://github.com/alexa/Topical-Chat",
        licence="CDLA-Sharing-1.0",
        quote=("`DATALICENSE`: \"Except as otherwise noted in a Notice.md file in this "
               "repository, datasets provided in this repository are licensed under the "
               "Community Data License Agreement – Sharing – Version 1.0.\" Section 3.5: \"This "
               "Agreement imposes no obligations or restrictions on Your Use or Publication of "
               "Results.\" (a trained model is a Result). Publishing this subset: it stays "
               "under CDLA-Sharing-1.0, whose full text is copied next to the data as "
               "`LICENSE-CDLA-Sharing-1.0.txt` (Section 3.3); the notices in `src/wiki` and "
               "`src/wapo` concern the reading sets, which are not used."),
        cite=("Gopalakrishnan et al. (2019), \"Topical-Chat: Towards Knowledge-Grounded "
              "Open-Domain Conversations\", Interspeech 2019. Data provider: Amazon.com, Inc. "
              "or its affiliates."),
        files=("`conversations/{valid_freq,valid_rare,test_freq,test_rare}.json`, every "
               "`message`. `conversations/train.json` is ≥ 4 MiB and was not in the snapshot."),
        kind="benign-only",
        split=("By conversation: `sha1(\"topical-conv-\" + conversation id) mod 100` → <70 "
               "train, <80 dev, else test (the source's valid/test files are all reassigned "
               "this way, since its train file is unavailable)."),
        mapping="Casual chat turns between crowd workers → `toxic=0`, all labels 0.",
        filtering=(LEXICON + " Modified files notice (CDLA-Sharing 3.1(b)): this file is a "
                   "modified subset of the original (turns extracted, filtered, re-split)."),
        notes=("Open-domain small talk about sports, music, films, science: the closest thing "
               "here to what innocent players say to each other."),
    ),
    "wiki_toxicity": dict(
        title="Wikipedia Talk Labels: Toxicity, identity-term test subset",
        url="https://github.com/conversationai/unintended-ml-bias-analysis",
        licence="CC-BY-SA-3.0",
        quote=("Repository `README.md`: \"All code in this repository is made available under "
               "the Apache 2 license. All data in this repository is made available under the "
               "Creative Commons Attribution 4.0 International license (CC By 4.0).\" The "
               "comments themselves are English Wikipedia talk-page posts, which Wikipedia "
               "publishes under CC BY-SA 3.0: this subset is therefore kept under CC BY-SA 3.0 "
               "(share-alike, like `stormfront`), with attribution to the Wikipedia "
               "contributors, and to Jigsaw / Conversation AI for the labels and selection."),
        cite=("Wulczyn, Thain, Dixon (2017), \"Ex Machina: Personal Attacks Seen at Scale\", "
              "WWW 2017 (Wikipedia Talk Labels: Toxicity); Dixon, Li, Sorensen, Thain, Vasserman "
              "(2018), \"Measuring and Mitigating Unintended Bias in Text Classification\", "
              "AIES 2018 (the identity-term test subset)."),
        files=("`archive/unintended_ml_bias/eval_datasets/toxicity_nonfuzzed_testset.csv` "
               "(columns `rev_id`, `comment`, `toxic` True/False): the comments of the "
               "Wikipedia Talk Labels: Toxicity test split that mention one of the "
               "identity terms of Dixon et al. (gay, lesbian, muslim, jewish, black, white, "
               "...), unmodified (the repository's *fuzzed* copy, with identity terms swapped, "
               "is not used)."),
        kind="mixed",
        split=("The file is one test set, so it is split by comment: "
               "`sha1(\"wiki-toxicity-rev-\" + rev_id) mod 100` → <70 train, <80 dev, else test."),
        mapping=("`toxic` True (the crowd-worker majority: about 10 raters per comment) → "
                 "`toxic=1` with all six labels unknown (the source gives only the binary "
                 "toxicity); False → `toxic=0`, all labels 0."),
        filtering=("Wikipedia-dump conventions undone first: `NEWLINE_TOKEN`/`TAB_TOKEN` → "
                   "space, doubled back-ticks → `\"`, `==` heading markers and leading "
                   "indentation (`:`, `*`, back-ticks) removed.\n\n" + LEXICON),
        notes=("Real talk-page discussion that names identity groups, labelled by humans: "
               "non-toxic arguments about religion, ethnicity or sexuality next to real "
               "identity-based abuse. Long texts (median about 300 characters). Small, but "
               "exactly the context the text model misreads."),
    ),
    "wiki_identity": dict(
        title="Wikipedia article sentences with identity terms (de-biasing data)",
        url="https://github.com/conversationai/unintended-ml-bias-analysis",
        licence="CC-BY-SA-3.0",
        quote=("Repository `README.md`: \"All data in this repository is made available under "
               "the Creative Commons Attribution 4.0 International license (CC By 4.0).\" The "
               "sentences are English Wikipedia article text (CC BY-SA 3.0): this subset is "
               "kept under CC BY-SA 3.0 (share-alike), with attribution to the Wikipedia "
               "contributors and to Jigsaw / Conversation AI for the selection."),
        cite=("Dixon, Li, Sorensen, Thain, Vasserman (2018), \"Measuring and Mitigating "
              "Unintended Bias in Text Classification\", AIES 2018 (section \"Dataset "
              "de-biasing\")."),
        files=("`data/toxicity_debiasing_data.tsv` (columns `rev_id`, `comment`, `is_toxic`, "
               "`split`), read at commit `{file_commit}` (the parent of the commit that "
               "removed it from the tree)."),
        kind="benign-only",
        split="The file's own `split` column (train/dev/test).",
        mapping=("Every row is `is_toxic=False` in the source → `toxic=0`, all labels 0. "
                 "**Not rated by crowd workers**: Jigsaw sampled these article sentences "
                 "because they contain identity terms and *presumed* them non-toxic "
                 "(encyclopedic text), to fill the shortage of non-toxic comments mentioning "
                 "each identity term."),
        filtering=LEXICON,
        notes=("Encyclopedic sentences using identity words neutrally (\"... Bristol's first "
               "ever LGBT pride parade ...\", \"a novel exploring same-sex desire\"). Not "
               "chat; use as hard negatives for identity words, and weigh it below the "
               "human-labelled sources."),
    ),
    "redditbias": dict(
        title="RedditBias: Reddit comments about identity groups, annotated for bias",
        url="https://github.com/umanlp/RedditBias",
        licence="MIT",
        quote=("`LICENSE`: \"MIT License — Copyright (c) 2021 SoumyaBarikeri — Permission is "
               "hereby granted, free of charge, to any person obtaining a copy of this software "
               "and associated documentation files ... to deal in the Software without "
               "restriction, including without limitation the rights to use, copy, modify, "
               "merge, publish, distribute, sublicense, and/or sell copies ...\"; the notice "
               "is copied next to the data as `LICENSE-MIT-RedditBias.txt`. The README notes "
               "that user names were removed and asks anyone who finds their comment "
               "misrepresented to contact the authors."),
        cite=("Barikeri, Lauscher, Vulić, Glavaš (2021), \"RedditBias: A Real-World Resource "
              "for Bias Evaluation and Debiasing of Conversational Language Models\", ACL 2021."),
        files=("`data/{{gender,orientation,race,religion1,religion2}}/"
               "reddit_comments_*_processed_phrase_annotated.csv` (column `comment`, and "
               "`bias_sent`: the annotators' judgement whether the comment is biased against "
               "the target group)."),
        kind="mixed",
        split=("By text: `sha1(\"redditbias-\" + key) mod 100` → <70 train, <80 dev, else test "
               "(the source has no sentence-level split)."),
        mapping="""Each comment pairs a target group with a stereotype descriptor (found by a
query); `bias_sent` is the manual label.

| file (target group) | `bias_sent` = 1 (biased) | `bias_sent` = 0 (not biased) |
|---|---|---|
| race (Black people), religion1 (Jews), religion2 (Muslims): hostile descriptors (violent, criminal, greedy, evil, terrorist, ...) | `toxic=1`, Discrimination 1, other labels unknown | `toxic=0`, all labels 0 |
| gender (women), orientation (LGBTQ): descriptors include role and mild stereotypes (\"my wife is a nurse\", \"lesbians are nice dressers\" are marked biased) | **dropped** (a stereotype, not abuse in our taxonomy) | `toxic=0`, all labels 0 |

Rows with an empty `bias_sent` (not annotated: most of the lgbtq and muslims files) or an
unsure note (`2`, `biased?`, `re-state`, `question`, ...) are dropped.""",
        filtering=("The `religion1` file is Mac Roman, not UTF-8 (one byte, a right quote), "
                   "and is decoded as such. Texts are as the authors pre-processed them: "
                   "lower case, most punctuation kept.\n\n" + LEXICON),
        notes=("The not-biased comments are the point of this source: they quote, reject, "
               "report or argue about a stereotype (\"it is a stereotype that bisexuals are "
               "always confused\", \"i was worried you were going for the muslims are the "
               "enemy angle\"), i.e. counter-speech and quoting with identity words — the "
               "context the text model misreads. Reddit, 2019-2020."),
    ),
    "hatexplain": dict(
        title="HateXplain (Twitter and Gab posts)",
        url="https://github.com/hate-alert/HateXplain",
        licence="MIT",
        quote=("HateXplain `LICENSE`: \"MIT License — Copyright (c) 2020 Punyajoy Saha — "
               "Permission is hereby granted, free of charge, to any person obtaining a copy of "
               "this software and associated documentation files ... to deal in the Software "
               "without restriction, including without limitation the rights to use, copy, "
               "modify, merge, publish, distribute, sublicense, and/or sell copies ...\"; the "
               "notice is copied next to the data as `LICENSE-MIT-HateXplain.txt`. "
               "**Carrier caveat:** HateXplain's `Data/dataset.json` is over the snapshot size "
               "limit, so the texts were read from the flattened copy in "
               "https://github.com/Media-Bias-Group/MBIB (`datasets/092_HateXplain/"
               "092-HateXplain.csv`, commit `{carrier_commit}`), a repository whose own "
               "`LICENSE` is GPL-3.0. That file is a mechanical transformation of HateXplain's "
               "data (tokens joined, non-alphanumerics removed, majority vote), so we treat the "
               "content as HateXplain's (MIT); if that reading is not accepted, drop this "
               "source (it is last in the de-duplication order, so no other file changes)."),
        cite=("Mathew, Saha, Yimam, Biemann, Goyal, Mukherjee (2021), \"HateXplain: A Benchmark "
              "Dataset for Explainable Hate Speech Detection\", AAAI 2021. Carrier: Wessel, "
              "Horych, Ruas, Aizawa, Gipp, Spinde (2023), \"Introducing MBIB - the first Media "
              "Bias Identification Benchmark Task and Dataset Collection\", SIGIR 2023."),
        files=("MBIB `datasets/092_HateXplain/092-HateXplain.csv` at commit "
               "`{carrier_commit}` (post id, text, MBIB's "
               "majority `category`) and HateXplain `Data/post_id_divisions.json` (official "
               "splits)."),
        kind="mixed",
        split="Official HateXplain split by post id: train → train, val → dev, test → test.",
        mapping="""Three MTurk annotators per post; MBIB's `category` is the label at least two chose:

| majority label | toxic | Discrimination | other five labels |
|---|---|---|---|
| hatespeech (attacks a target community) | 1 | 1 | unknown |
| offensive | 1 | unknown | unknown |
| normal | 0 | 0 | 0 |
| no majority (three different labels) | dropped | | |""",
        filtering=("Texts are as in the MBIB copy: lower case, punctuation, emoji and "
                   "apostrophes removed (\"dont\", \"im\"), HateXplain's `<user>` "
                   "placeholder left as the word `user`.\n\n" + LEXICON),
        tokens=("@USER / URL tokens: HateXplain had already replaced user names with "
                "`<user>`; in this copy it reads `user`. No URLs."),
        notes=("Short social-media posts (Twitter and Gab, 2019-2020), chosen with a hate "
               "lexicon, so the *normal* posts often use identity words (\"white\", \"queer\", "
               "\"muslim\") in ordinary ways. Normal posts with a swear word or slur (often "
               "in-group use) are dropped by the lexicon filter."),
    ),
}

NEW = ("wiki_toxicity", "wiki_identity", "redditbias", "hatexplain")  # added for issue 20

HOW = {
    "hatecheck": "train: Discrimination/Profanity/Harassment; contrastive negatives",
    "convabuse": "train: chat-like abuse incl. Sexual and Harassment; benign chat",
    "stormfront": "train: Discrimination; hard negatives",
    "toxic_spans": "train: toxic / any-label only (labels masked)",
    "clinc150": "train + FPR calibration on benign queries",
    "banking77": "train + FPR calibration on benign queries",
    "sgd": "train + FPR calibration on short chat replies",
    "topical_chat": "train + FPR calibration on casual chat",
    "wiki_toxicity": "train: Wikipedia talk with identity terms (toxic/benign, labels masked)",
    "wiki_identity": "train: identity words in neutral encyclopedic text (presumed benign)",
    "redditbias": "train: Discrimination; counter-speech / quoting hard negatives",
    "hatexplain": "train: Discrimination; offensive (labels masked); benign identity talk",
}


def write_source(name: str) -> None:
    d = SRC[name]
    s = S[name]
    # every source is checked for reserved-text containment (prepare.py)
    contained = CONTAINMENT.format(n=S.get("containment_patterns", 0))
    flt = "\n\n".join(x for x in (COMMON_FILTER, d["filtering"], contained) if x)
    fmt = {"file_commit": C.get("wiki_identity_file", ""),
           "carrier_commit": C.get("hatexplain_carrier", "")}
    if name in NEW:
        d = {k: (v.format(**fmt) if k in ("quote", "files") else v) for k, v in d.items()}
    tokens = d.get("tokens", "@USER / URL tokens: none of these sources uses placeholder "
                             "tokens; texts are kept as written.")
    text = f"""# {d['title']} (`{name}`)

- Source: {d['url']}
- Commit fetched: `{C[name]}`
- Files used: {d['files']}
- Kind: {d['kind']}
- Citation: {d['cite']}

## Licence

**{d['licence']}.** {d['quote']}

The rows here are a derived subset of the original; the original authors' attribution is kept
above. Allowed for training and for redistributing both the model and this subset.

## Rows

`rows.csv.gz`: gzip CSV with columns
`text,split,toxic,{','.join(LABELS)}`; label cells are 1, 0 or empty (unknown).
{s['rows']} rows.

{counts(name)}

## Splits

{d['split']}

## Label mapping

{d['mapping']}

## Filtering

{flt}

{tokens}

## Notes

{d['notes']}
"""
    with open(f"{OUT}/{name}/README.md", "w", encoding="utf-8") as fh:
        fh.write(text)


def write_index() -> None:
    rows = []
    tot = [0, 0, 0, 0, 0]
    for name, d in SRC.items():
        s = S[name]
        tr = s["train_toxic"] + s["train_benign"]
        dv = s["dev_toxic"] + s["dev_benign"]
        te = s["test_toxic"] + s["test_benign"]
        tox = sum(s[f"{sp}_toxic"] for sp in ("train", "dev", "test"))
        ben = sum(s[f"{sp}_benign"] for sp in ("train", "dev", "test"))
        for i, v in enumerate((tr, dv, te, tox, ben)):
            tot[i] += v
        rows.append(f"| [`{name}`]({name}/README.md) | {d['licence']} | {d['kind']} | {tr} | "
                    f"{dv} | {te} | {tox} | {ben} | {HOW[name]} |")
    rows.append(f"| **total** | | | {tot[0]} | {tot[1]} | {tot[2]} | {tot[3]} | {tot[4]} | |")
    table = "\n".join(rows)
    text = f"""# Real text data

Real, human-written, openly licensed text for training and calibrating the text classifier,
prepared from public GitHub repositories (snapshots listed per source). Load it with
`training/real_text.py` (`load_real_text`, `load_source`, `SOURCES`).

Every `<source>/rows.csv.gz` has the columns
`text,split,toxic,{','.join(LABELS)}`: `toxic` is 1/0 (any label of our taxonomy), a label
cell is 1, 0 or empty (= unknown for that source: mask it out of the loss). No text is in two
splits of a source, no text is in two sources, and no text of the reserved evaluation sets
(`benchmarks/data/text/paradetox`, `benchmarks/data/text/davidson`) is here.

| source | licence | kind | train | dev | test | toxic | benign | how used |
|---|---|---|---:|---:|---:|---:|---:|---|
{table}

Kinds: *mixed* sources have both classes with source labels; *toxic-only* rows are toxic with
unknown categories; *benign-only* rows are innocent text (all labels 0) — use their dev/test
splits to calibrate thresholds for a target false-positive rate.

Label coverage: Discrimination (hatecheck, stormfront, convabuse, redditbias, hatexplain), Harassment
(hatecheck, convabuse), Sexual (convabuse), Profanity (hatecheck). No source here labels
IllegalAndRegulated or DatingAndRomantic positively: those stay on the synthetic corpus.

Share-alike: `stormfront` (CC BY-SA 3.0 ES), `sgd` (CC BY-SA 4.0), `topical_chat`
(CDLA-Sharing-1.0), `wiki_toxicity` and `wiki_identity` (Wikipedia text, CC BY-SA 3.0) must
stay under their own licences when redistributed; this folder is not covered by the
repository's Apache-2.0 licence. Attribution for each source is in its README; `redditbias`
and `hatexplain` (MIT) keep their licence notices next to the data, and `hatexplain`'s README
names the GPL-3.0 repository its file was read from (see the caveat there).

Issue 20 additions: `wiki_toxicity`, `wiki_identity`, `redditbias` and `hatexplain` come after
the eight sources above in the de-duplication order. Rows of every source are also dropped when
they *contain* a reserved evaluation text of 4 or more words (whole words; see each README):
before that check `toxic_spans` held 91 Civil Comments posts containing a whole ParaDetox text of
8 or more words, so the text models trained before it saw those posts.

Left out: OLID / OffensEval 2019 (no licence stated by its authors; TweetEval lists it as
"unknown"), CONDA Dota-2 chat (no licence in its repository), ETHOS (GPL-3.0, not an open data
licence on our list), HateXplain (MIT, but its `dataset.json` is over the snapshot size limit),
Dynamically Generated Hate (files over the size limit, no licence in the README), CAD
(data only on Zenodo), SNIPS (no licence found), ParaDetox and Davidson et al. (reserved for
evaluation). Also checked for issue 20: Jigsaw Toxic Comment Classification and Civil Comments
(no copy in files small enough for a snapshot found; the 101-row sample in
IBM/MAX-Toxic-Comment-Classifier was not worth a source), the full Wikipedia Talk Labels files
(over the size limit in every copy found), the ACL-2022 Toxic Spans files (`comments.csv` holds
only posts already rated toxic in Civil Comments), Ruddit (comment ids only, no text), CONAN /
Multitarget-CONAN ("can be used for research purposes" only; partly machine-generated),
Implicit Hate (data not in its repository), Social Bias Frames and Measuring Hate Speech (no
GitHub copy found), ToxiGen (machine-generated).

Preparation: a one-off script read the snapshots and wrote these files (deterministic: same
snapshots → byte-identical `rows.csv.gz`); the processing of each source is described in its
README.
"""
    with open(f"{OUT}/README.md", "w", encoding="utf-8") as fh:
        fh.write(text)


def write_bench() -> None:
    info = {
        "paradetox": dict(
            title="ParaDetox",
            url="https://github.com/s-nlp/paradetox",
            lic=("**CC0-1.0.** `LICENSE`: \"Creative Commons Legal Code — CC0 1.0 Universal\". "
                 "(The Hugging Face copy `s-nlp/paradetox` is tagged openrail++; we used the "
                 "GitHub repository, whose licence file is CC0.)"),
            cite=("Logacheva et al. (2022), \"ParaDetox: Detoxification with Parallel Data\", "
                  "ACL 2022."),
            files="`paradetox/paradetox.tsv` (columns toxic, neutral1, neutral2, neutral3).",
            mapping=("Each toxic source sentence → `toxic=1`; each of its human neutral "
                     "rewrites (neutral1–3, when present) → `toxic=0`."),
        ),
        "davidson": dict(
            title="Davidson et al. 2017, hate speech and offensive language",
            url="https://github.com/t-davidson/hate-speech-and-offensive-language",
            lic=("**MIT.** `LICENSE`: \"MIT License — Copyright (c) 2017 Tom Davidson — "
                 "Permission is hereby granted, free of charge, to any person obtaining a copy "
                 "...\". The README asks users to cite the paper."),
            cite=("Davidson, Warmsley, Macy, Weber (2017), \"Automated Hate Speech Detection and "
                  "the Problem of Offensive Language\", ICWSM 2017."),
            files="`data/labeled_data.csv`.",
            mapping=("`class` 0 (hate speech) or 1 (offensive language) → `toxic=1`; class 2 "
                     "(neither) → `toxic=0`."),
        ),
    }
    for name, d in info.items():
        s = S[f"eval:{name}"]
        extra = ", ".join(f"{k}={v}" for k, v in s.items() if k not in ("toxic", "benign"))
        text = f"""# {d['title']} (evaluation only)

**This set is reserved for independent evaluation: never train, tune or select on it.**

- Source: {d['url']}
- Commit fetched: `{C[name]}`
- Files used: {d['files']}
- Citation: {d['cite']}

## Licence

{d['lic']}

## Rows

`rows.csv.gz`: gzip CSV with columns `text,toxic`. {s['toxic'] + s['benign']} rows:
toxic=1: {s['toxic']}, toxic=0: {s['benign']}.

{d['mapping']}

Processing: {"HTML entities unescaped (`&amp;` → `&`, `&#128514;` → emoji); " if name == "davidson" else ""}whitespace collapsed; empty rows dropped; exact duplicates (same normalised
text: NFKC, lower case, non-word characters removed) kept once, and dropped entirely when their
labels disagree (e.g. a "rewrite" identical to its toxic source). Counts: {extra}.
{"Tweets are kept as written (retweet markers, @mentions and URLs included)." if name == "davidson" else ""}

No text of this set occurs in `training/data/text` (checked by `tests/test_real_text.py`).
"""
        with open(f"{BENCH}/{name}/README.md", "w", encoding="utf-8") as fh:
            fh.write(text)


for n in SRC:
    write_source(n)
write_index()
write_bench()
lic = subprocess.run(["git", "--git-dir=/work/.mirror/alexa+Topical-Chat/repo", "show",
                      "HEAD:DATALICENSE"], capture_output=True, check=True).stdout
with open(f"{OUT}/topical_chat/LICENSE-CDLA-Sharing-1.0.txt", "wb") as fh:
    fh.write(lic)
lic = subprocess.run(["git", "--git-dir=/work/.mirror/hate-alert+HateXplain/repo", "show",
                      f"{C['hatexplain']}:LICENSE"], capture_output=True, check=True).stdout
with open(f"{OUT}/hatexplain/LICENSE-MIT-HateXplain.txt", "wb") as fh:
    fh.write(lic)
lic = subprocess.run(["git", "--git-dir=/work/.mirror/umanlp+RedditBias/repo", "show",
                      f"{C['redditbias']}:LICENSE"], capture_output=True, check=True).stdout
with open(f"{OUT}/redditbias/LICENSE-MIT-RedditBias.txt", "wb") as fh:
    fh.write(lic)
print("ok")

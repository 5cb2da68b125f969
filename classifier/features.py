"""Text normalisation and feature analyzers shared by training and inference.

Character n-grams over lower-cased, diacritic-folded text make spelling tricks ("s3x", "seeex")
and Romanian diacritics (ş/ș, ţ/ț, ă, â, î, with or without) cost the model little. Analyzers are
plain functions so the vocabulary learnt by scikit-learn maps one-to-one onto what inference sees.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

import numpy as np

from classifier import stance

if TYPE_CHECKING:
    from classifier.hostwords import HostWords

_FOLD = str.maketrans({
    "ș": "s", "ş": "s", "ț": "t", "ţ": "t", "ă": "a", "â": "a", "î": "i",
    "Ș": "s", "Ş": "s", "Ț": "t", "Ţ": "t", "Ă": "a", "Â": "a", "Î": "i",
    "’": "'", "‘": "'", "“": '"', "”": '"', "@": "a", "$": "s",
})
_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_REPEAT = re.compile(r"(\w)\1{2,}")
_NONWORD = re.compile(r"[^\w']+")
TOKEN = re.compile(r"[a-z0-9']{2,}|[^\W\d_]{2,}")
#: How much normalised text the page-text model reads; the term scan reads all extracted text.
MODEL_CHARS = 1000


#: "18+" and the like: an age gate says something, but "+" is not a word character. Not
#: "2+2", "c++" or "+18" (a phone prefix).
_AGE_PLUS = re.compile(r"(?<![\w+.])(1[0-8]|21)\s?\+(?![\w+])")

#: Above this many "+" in a text, :func:`_age_plus_possible` leaves the answer to the regex.
_FEW_PLUS = 16


def _age_plus_possible(t: str) -> bool:
    """Can ``_AGE_PLUS`` match in ``t``? Only where a "+" follows a digit, directly or after
    one character (its optional space).

    A page's "+" are few ("C++", "Google+", "+40" phone prefixes), and the pattern's
    look-behind makes sre try every position of the text; looking at the characters before
    each "+" answers most texts without it. A text with many "+" goes to the regex.
    """
    i = t.find("+")
    for _ in range(_FEW_PLUS):
        if i < 0:
            return False
        if t[i - 1:i].isdigit() or (i >= 2 and t[i - 2].isdigit()):
            return True
        i = t.find("+", i + 1)
    return i >= 0


#: Byte table for the last step: ASCII word characters and "'" stay, every other ASCII byte
#: becomes a space; bytes >= 0x80 (UTF-8 sequences of word characters) stay.
_SQUEEZE = bytes(c if c >= 128 or chr(c).isalnum() or c in b"_'" else 32 for c in range(256))
#: Non-ASCII characters that are not word characters (dashes, quotes, symbols, spaces).
_WIDE_NONWORD = re.compile(r"[^\x00-\x7f\w]+")
_APOSTROPHE = ord("'")


def _collapse_runs(a: np.ndarray) -> np.ndarray | None:
    """Runs of 3+ equal characters cut to 2, or None if there are none (cheaper than a regex).

    ``a`` holds squeezed text (word characters, apostrophes and single spaces), so every equal
    triple other than three apostrophes is a run of one word character, as ``_REPEAT`` means.
    """
    if len(a) < 3:
        return None
    eq = a[1:] == a[:-1]
    drop = eq[1:] & eq[:-1]
    if not drop.any():
        return None
    drop &= a[2:] != _APOSTROPHE
    if not drop.any():
        return None
    keep = np.ones(len(a), dtype=bool)
    keep[2:] = ~drop
    return a[keep]


#: Every ASCII byte: deleting them from UTF-8 leaves the non-ASCII characters' bytes.
_ASCII_BYTES = bytes(range(128))
#: Above this many non-ASCII characters, or this many distinct ones, two regex passes cost
#: less than a ``str.replace`` per distinct character.
_FEW_WIDE, _FEW_DISTINCT = 256, 32


def _drop_marks_blank_symbols(t: str) -> str:
    """``_WIDE_NONWORD.sub(" ", _COMBINING.sub("", t))``, up to how many spaces a run of
    blanked characters leaves (the squeeze step after it makes one space of any run).

    A page's text has a few distinct non-ASCII characters (diacritics, quotes, dashes): one
    ``str.replace`` per character to drop or blank is several times cheaper than two regex
    passes, which test every character of the text. Each character is judged by the same
    two patterns; a text with many non-ASCII characters takes the regex passes.
    """
    wide = t.encode("utf-8", "surrogatepass").translate(None, _ASCII_BYTES)
    if len(wide) > 4 * _FEW_WIDE:
        return _WIDE_NONWORD.sub(" ", _COMBINING.sub("", t))
    chars = set(wide.decode("utf-8", "surrogatepass"))
    if len(chars) > _FEW_DISTINCT:
        return _WIDE_NONWORD.sub(" ", _COMBINING.sub("", t))
    for c in chars:
        if _COMBINING.match(c):
            t = t.replace(c, "")
        elif _WIDE_NONWORD.match(c):
            t = t.replace(c, " ")
    return t


def normalize(text: str) -> str:
    """Lower-case, fold diacritics, collapse runs of a letter, squeeze non-word characters;
    an age gate such as "18+" becomes the word "18plus".

    Same result as the regex definition (``_FOLD``, NFKD without combining marks, ``_REPEAT``,
    ``_NONWORD``), computed with C-speed string calls: a per-character ``str.translate`` and
    regex substitutions with one match per word cost more than the models on a page.
    """
    t = text.lower()
    if "+" in t and _age_plus_possible(t):
        t = _AGE_PLUS.sub(r" \1plus ", t)
    if not t.isascii():
        # The Romanian letters of _FOLD fold the same way through NFKD below; quotes do not.
        if "\u2019" in t or "\u2018" in t:
            t = t.replace("\u2019", "'").replace("\u2018", "'")
    if "@" in t or "$" in t:
        t = t.replace("@", "a").replace("$", "s")
    if t.isascii():
        b = b" ".join(t.encode("ascii").translate(_SQUEEZE).split())
        a = _collapse_runs(np.frombuffer(b, dtype=np.uint8))
        return (b if a is None else a.tobytes()).decode("ascii")
    # NFKD can yield upper-case ASCII (e.g. U+210C): it stays upper-case, as before.
    t = _drop_marks_blank_symbols(unicodedata.normalize("NFKD", t))
    b = b" ".join(t.encode("utf-8").translate(_SQUEEZE).split())
    t = b.decode("utf-8")
    if t.isascii():
        a = _collapse_runs(np.frombuffer(b, dtype=np.uint8))
        return t if a is None else a.tobytes().decode("ascii")
    a = _collapse_runs(np.frombuffer(t.encode("utf-32-le"), dtype=np.uint32))
    return t if a is None else a.tobytes().decode("utf-32-le")


def plain_words(norm: str) -> bool:
    """Are the tokens of ``norm`` just its space-separated words of 2+ characters?

    True for ASCII text without upper case (NFKD can leave some) or "_": its words are runs of
    [a-z0-9'], which ``TOKEN`` takes whole.
    """
    # lower() == itself: ~7x faster than islower() on ASCII text.
    return norm.isascii() and "_" not in norm and norm.lower() == norm


def tokens(norm: str) -> list[str]:
    """Word tokens of normalised text (``TOKEN``); a plain split when that gives the same."""
    if plain_words(norm):
        return [w for w in norm.split(" ") if len(w) > 1]
    return TOKEN.findall(norm)


def text_features(text: str, *, normalized: bool = False) -> list[str]:
    """Word unigrams, stance markers and character 4-grams of the first MODEL_CHARS characters.

    One n-gram size keeps a page under a millisecond; 4-grams still cover "s3x"-style spellings
    and words with or without Romanian diacritics (folded by :func:`normalize`).
    """
    return _page_features(text, normalized, stance_tokens)


def text2_features(text: str, *, normalized: bool = False) -> list[str]:
    """:func:`text_features` with the extended stance markers (:func:`stance2_tokens`)."""
    return _page_features(text, normalized, stance2_tokens)


def plain_text_features(text: str, *, normalized: bool = False) -> list[str]:
    """:func:`text_features` without stance markers (the first release's features)."""
    return _page_features(text, normalized, None)


def _page_features(text: str, normalized: bool,
                   markers: Callable[[list[str]], list[str]] | None) -> list[str]:
    """The page-text analyzers' one recipe; they differ only in the stance markers added."""
    s = text if normalized else normalize(text)
    s = " " + s[:MODEL_CHARS] + " "
    words = TOKEN.findall(s)
    feats = ["w " + w for w in words]
    if markers is not None:
        feats += ["w " + m for m in markers(words)]
    feats += [s[i:i + 4] for i in range(len(s) - 3)]
    return feats


# ---------------------------------------------------------------------------------------------
# Stance markers. Bags of words cannot tell "they deserve to die" from "saying they deserve to
# die is vile": the same words carry opposite stances. These markers are pseudo-words (they
# start with "~", which normalised text never contains) that name a frame found in the tokens
# and its combination with a kind of harmful wording, so that a linear model can weigh
# "violent words inside a news report" apart from "violent words aimed at you". EN and RO
# (diacritics folded); deliberately small lists, tokens as :func:`tokens` makes them.

def _ws(words: str) -> frozenset[str]:
    return frozenset(words.split())


#: Negators; the next NEG_SCOPE tokens are marked "~not_<word>".
_NEGATORS = _ws("not no never don't dont doesn't doesnt isn't isnt aren't arent wasn't wasnt "
                "can't cant cannot won't wont shouldn't nobody nothing nor without stop "
                "nu niciodata nici fara nimeni nimic")
NEG_SCOPE = 3
_SECOND = _ws("you your you're youre ya yourself yourselves te tine iti tau ta")
#: Future or wish: "will", "gonna", "i'll", "want to"; RO "voi", "o sa", "vreau sa".
_FUTURE = _ws("will i'll ill we'll gonna going wanna want gotta shall plan planning ready "
              "voi vom vreau vrem")
_VIOLENT = _ws("kill kills killed killing murder murdered stab stabbed stabbing shoot shot "
               "shooting beat beating hurt punch punched strangle choke slit burn bleed smash "
               "hang behead rape raped torture "
               "omor omori omoara omorat ucid ucide injunghii injunghia injunghiat impusc impuscat bat "
               "batut snopesc spanzur sparg tortura")
_DEATH = _ws("die dead bleed death mori murit")
_SELF_HARM = _ws("die suicide suicidal overdose od starve myself mor sinucid sinucide sinucidere")
_HELP = _ws("help helpline hotline lifeline call text talk reach counsellor counselor therapist "
            "therapy doctor support recovery recovered recovering survived survivor clean sober "
            "116 111 988 samaritans crisis hope alone "
            "ajutor suna vorbeste psiholog terapeut sprijin consiliere recuperare singur")
_INSTRUCT = _ws("how method methods way ways painless dose doses lethal step guide tutorial "
                "instructions cum metoda metode doza doze pasi")
_REPORT = _ws("said says told reported reports according police court trial sentenced "
              "charged arrested investigation news journalist article claimed alleged "
              "condemned condemn spokesman minister witnesses victims history war "
              "declarat declara potrivit politia procurorii ancheta instanta condamnat razboi")
_COUNTER = _ws("racist racism racists bigot bigots bigotry bigoted hateful disgusting "
               "unacceptable ashamed shame wrong stereotype stereotypes prejudice "
               "discrimination xenophobia xenophobic antisemitism antisemitic islamophobia "
               "homophobia homophobic sexist sexism dehumanising dehumanizing "
               "rasist rasism rasisti discriminare xenofob xenofobie rusine gresit inacceptabil")
_GROUP = _ws("jews jew jewish muslims muslim islam blacks black immigrants immigrant migrants "
             "refugees gays gay lesbians trans women men whites white arabs asians mexicans "
             "gypsies roma christians hindus "
             "evrei evreii musulmani musulmanii negri negrii imigranti refugiati homosexuali "
             "tigani tiganii romi femei unguri")
_DEHUMAN = _ws("rats vermin cockroaches parasites animals apes monkeys subhuman filth plague "
               "disease scum savages invaders gassed gas exterminate exterminated eradicate "
               "deported deport die kill "
               "sobolani paraziti animale maimute gunoaie ciuma gazati exterminati muriti")
_GAME = _ws("game games gaming play playing played player level boss match team goal score "
            "round gg lol fortnite minecraft roblox cod pubg server joc jocul meci echipa gol nivel")
_QUESTION = _ws("why what how is are should ce de cum")
_TRIGGERS = (_NEGATORS | _SECOND | {"te"} | _FUTURE | _VIOLENT | _DEATH | _SELF_HARM | _HELP | _REPORT
             | _COUNTER | _GROUP | _DEHUMAN | _GAME | {"end", "kill", "myself", "ma"})
_TRIGGERS2 = _TRIGGERS | stance.TRIGGERS


def stance_tokens(words: list[str]) -> list[str]:
    """Stance markers of a token list (see above); empty for text without any trigger word.

    Costs a set intersection for ordinary text and a short scan around the trigger words
    otherwise: well under the page-text model's own cost. One-letter words ("I", "a") are not
    tokens, so first person is read from "myself", "my" and the verb frame.
    """
    return _stance(words, False)


def stance2_tokens(words: list[str]) -> list[str]:
    """:func:`stance_tokens` plus the frames and harms of :mod:`classifier.stance` (quoted
    speech, denunciation, conditional help, death wishes, more threats): the markers of models
    trained with the ``text2`` analyzer. A model keeps the markers it was trained with."""
    return _stance(words, True)


def _stance(words: list[str], extended: bool) -> list[str]:
    present = (_TRIGGERS2 if extended else _TRIGGERS).intersection(words)
    if not present:
        return []
    out: list[str] = []
    n = len(words)
    if present & _NEGATORS:
        for i, w in enumerate(words):
            if w in _NEGATORS:
                out.extend("~not_" + x for x in words[i + 1:i + 1 + NEG_SCOPE] if x not in _NEGATORS)
    frames: list[str] = []
    if present & _REPORT:
        frames.append("report")
    if present & _COUNTER:
        frames.append("counter")
    if present & _HELP:
        frames.append("help")
    if present & _GAME:
        frames.append("game")
    if present & _NEGATORS:
        frames.append("neg")
    if extended:
        frames += [f for f in stance.extra_frames(words, present) if f not in frames]
    harms: list[str] = []
    violent = present & _VIOLENT
    if present & _FUTURE:
        for i, w in enumerate(words):
            if w not in _FUTURE:
                continue
            before = words[i - 1] if i else ""
            span = words[i + 1:i + 10]
            # "(I) will find you ... stab you", "you will die": a threat aimed at the reader.
            if before not in _SECOND and "if" != before and _SECOND.intersection(span) and (
                    _VIOLENT.intersection(span) or _DEATH.intersection(span)):
                if "threat2p" not in harms:
                    harms.append("threat2p")
            elif before in _SECOND and _DEATH.intersection(span[:4]) and w in ("will", "gonna"):
                if "threat2p" not in harms:
                    harms.append("threat2p")
            # "(I) want to die", "going to kill myself", "will end it", "vreau sa mor".
            if before not in _SECOND and before != "if":
                near = span[:5]
                if _SELF_HARM.intersection(near) and not _SECOND.intersection(near) or (
                        "end" in near and ("it" in near or "my" in near or "all" in near)) or (
                        "kill" in near and "myself" in near) or (
                        "ma" in near and ("omor" in near or "sinucid" in near)):
                    if "intent1p" not in harms:
                        harms.append("intent1p")
    if "te" in present and "threat2p" not in harms and violent:  # "te" is a trigger
        # Romanian puts "you" before the verb: "te omor", "te bat", "o sa te injunghii".
        for i, w in enumerate(words[:-1]):
            if w == "te" and (words[i + 1] in _VIOLENT or words[i + 1] in ("voi", "vom")
                              and i + 2 < n and words[i + 2] in _VIOLENT):
                harms.append("threat2p")
                break
    if "myself" in present and (violent or present & _SELF_HARM) and "intent1p" not in harms:
        harms.append("intent1p")
    if violent and "threat2p" not in harms:
        harms.append("violent")
    # Instructions aimed at the reader: "how to kill yourself", "painless way", "doses".
    if present & (_SELF_HARM | _VIOLENT) and _INSTRUCT.intersection(words):
        harms.append("instruct")
    if "yourself" in present and present & (_SELF_HARM | _VIOLENT):
        harms.append("self2p")
    if present & _GROUP and present & _DEHUMAN:
        harms.append("dehuman")
    if extended:
        harms += [h for h in stance.extra_harms(words, present) if h not in harms]
        out.extend("~" + f for f in frames if f in stance.STANDALONE)
    for h in harms:
        out.append("~" + h)
        out.extend(f"~{f}&{h}" for f in frames)
    if harms and n and words[0] in _QUESTION:
        out.append("~question")
    return out


@functools.lru_cache(maxsize=16)
def split_url(url: str) -> tuple[str, str]:
    """(host, path-and-query) of a URL or bare host name, lower-cased.

    Remembers the last few: scoring one URL splits it three times (its features, its host
    words, the host's weighted terms), and ``urlsplit`` costs more than a lookup."""
    u = url.strip()
    if "//" not in u:
        u = "http://" + u
    try:
        p = urlsplit(u)
        host = (p.hostname or "").rstrip(".")
    except ValueError:
        return "", ""
    return host.lower(), unquote(p.path + ("?" + p.query if p.query else "")).lower()[:300]


def url_features(url: str) -> list[str]:
    """Host character 3-5-grams with label boundaries, host labels, TLD and path words."""
    host, path = split_url(url)
    if host.startswith("www."):
        host = host[4:]
    labels = host.split(".")
    tld = labels[-1] if labels else ""
    name = ".".join(labels[:-1]) if len(labels) > 1 else host
    s = "^" + name.replace("-", ".") + "$"
    feats = ["tld " + tld]
    feats += ["h " + lab for lab in labels[:-1]]
    for n in (3, 4, 5):
        feats += [s[i:i + n] for i in range(len(s) - n + 1)]
    if path and path != "/":
        feats += ["p " + w for w in TOKEN.findall(normalize(path))[:20]]
    return feats


def url2_features(url: str, words: HostWords) -> list[str]:
    """:func:`url_features` plus the words of the host's labels (``"hw casino"``, split by
    ``words``) and, per word that a category's weighted-term list names, ``"tw <category>"``:
    a word no training host spelt still counts through its category."""
    feats = url_features(url)
    host, _ = split_url(url)
    if host.startswith("www."):
        host = host[4:]
    labels = host.split(".")[:-1] or [host]
    for lab in labels:
        feats += words.label_features(lab)
    return feats


def describe_feature(f: str) -> str:
    """Human-readable name of a feature, for parents reading a block reason."""
    if f.startswith("w ~"):
        return describe_stance(f[3:])
    if f.startswith("w "):
        return f"word '{f[2:]}'"
    if f.startswith("h "):
        return f"host word '{f[2:]}'"
    if f.startswith("hw "):
        return f"word '{f[3:]}' in the host name"
    if f.startswith("tw "):
        return f"a {f[3:]} word in the host name"
    if f.startswith("p "):
        return f"path word '{f[2:]}'"
    if f.startswith("tld "):
        return f"domain ending '.{f[4:]}'"
    return f"'{f.strip().strip('^$')}'"


_HARM_NAMES = {"threat2p": "a threat aimed at the reader ('I will ... you')",
               "violent": "violent wording", "intent1p": "first-person self-harm intent",
               "instruct": "instructions for self-harm or violence",
               "self2p": "self-harm wording aimed at the reader ('yourself')",
               "dehuman": "a group described in dehumanising words",
               "wishdeath": "a wish or call for someone's death ('deserve to die')"}
_FRAME_NAMES = {"report": "in a report", "counter": "in counter-speech", "help": "with help offered",
                "game": "in game or sport talk", "neg": "near a negation",
                "quote": "quoted or reported ('X said that ...')",
                "helpif": "with help offered ('if you ..., call')"}


def describe_stance(m: str) -> str:
    """A stance marker ("threat2p", "report&violent", "not_kill") in words a parent reads."""
    if m.startswith("not_"):
        return f"'not ... {m[4:]}' (negated)"
    if m == "question":
        return "a question about harmful wording"
    if m in stance.STANDALONE:
        return f"stance: {_FRAME_NAMES[m].removeprefix('with ')}"
    frame, _, harm = m.rpartition("&")
    text = _HARM_NAMES.get(harm, harm)
    return f"stance: {text} {_FRAME_NAMES.get(frame, frame)}" if frame else f"stance: {text}"

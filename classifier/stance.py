"""More stance frames and harms for :func:`classifier.features.stance_tokens`.

The markers of ``features`` see negation, threats aimed at the reader, first-person intent and
dehumanising words. The frames here are the ones that held-out counter-speech and news still
got wrong: hate *reported* or *quoted* in order to reject it ("the court heard that he shouted
that ...", "people who claim X are rats are spreading hate"), help offered on a condition ("if
you want to die, call ..."), wishes of death for a group or a person ("they deserve to die"),
and threats that the first markers missed ("we are coming for you", "you will be shot", "your
days are numbered"). Each function reads the token list once and returns frame or harm names;
``features`` combines them with its own into "~frame&harm" pseudo-words. EN and RO
(diacritics folded, tokens as :func:`classifier.features.tokens` makes them).
"""

from __future__ import annotations

from itertools import chain


def _ws(words: str) -> frozenset[str]:
    return frozenset(words.split())


#: Verbs that report what someone else said or wrote; what follows is quoted, not asserted.
SPEECH = _ws("said says saying claimed claiming claim claims wrote writes writing shouted "
             "shouting chanted chanting posted posting posts tweeted told telling called calling "
             "calls call repeated repeating graffiti slogans slogan messages "
             "zis spus spune spun spunea spuneau scris scria scrie strigat striga strigau sustin "
             "sustine sustinea numit numeste numind mesaje mesajele postari")
#: Words that introduce the quoted content after a speech verb.
_THAT = _ws("that ca like as")
#: Predicates that reject what was quoted ("... is vile", "spreading hate", "I reported it").
DENOUNCE = _ws("spreading vile wrong racism racist hateful dangerous unacceptable shameful disgusting "
               "banned removed reported reporting condemned condemn bigotry bigoted hurtful "
               "dehumanising dehumanizing propaganda genocide persecution "
               "gresit rasism rasist ura urii inacceptabil rusinos periculos raportat raportam "
               "condamnat condamnam sters propaganda genocid dezumanizant")
#: Modal frames of a wish or call for death: "deserve to die", "should be shot", "must die".
_WISH = _ws("deserve deserves deserved should must need needs ought merita trebuie trebui")
_DEATH_PASSIVE = _ws("die dead shot killed hanged hung burned burnt gassed exterminated executed "
                     "eliminated lynched slaughtered beheaded bullet noose "
                     "moara mori ucisi omorati impuscati spanzurati arsi gazati exterminati "
                     "executati eliminati")
#: Passive violence after "you will be": "you will be shot", "you'll be found dead".
_HURT_PASSIVE = _ws("shot killed hanged beaten stabbed burned burnt buried dead "
                    "omorat impuscat injunghiat batut ingropat")
#: "you're next in line", "you are next to play": an order, not a threat.
_NOT_THREAT_NEXT = _ws("in to time week year month day turn round level game up on door")
_YOU_WILL = _ws("will gonna ll going")
_SECOND = _ws("you your you're youre yourself ya te tine vrei simti gandesti esti")
_IF = _ws("if daca")
_HELP_OFFER = _ws("call text talk reach contact helpline hotline lifeline ring visit chat "
                  "suna scrie vorbeste contacteaza 116 111 988 112 911")
_SELF_WORDS = _ws("die suicide suicidal kill hurt harm end dying mori sinucid sinucide moara "
                  "ranesti omori")

#: Sport and games the first markers' list lacks: "I will beat you at chess" is no threat.
_GAME = _ws("chess tennis football soccer basketball hockey rugby cricket volleyball boxing "
            "sparring rematch tournament championship league fifa valorant overwatch csgo "
            "apex poker cards monopoly race racing training coach referee "
            "sah fotbal tenis baschet handbal turneu campionat antrenor antrenament")
#: Frames that are also markers on their own (help offered, quoted speech), harm or not.
STANDALONE = frozenset({"helpif", "quote"})

#: First-person self-harm intent the first markers miss (EN "take my life", RO "îmi iau viața",
#: "mă arunc", "termin cu totul"), as space-separated token sequences.
_INTENT = (" take my life ", " take my own life ", " end it all ", " ending it all ",
           " ending my life ", " bought the rope ", " imi iau viata ", " mi iau viata ",
           " ma omor ", " ma arunc ", " ma spanzur ", " ma tai ", " termin cu totul ",
           " termin cu viata ", " sa termin cu tot ")
_INTENT_WORDS = _ws("life viata omor arunc spanzur tai totul rope all")

#: The _INTENT phrases by the words of _INTENT_WORDS they contain, and those with none
#: (looked for whenever any of _INTENT_WORDS is present).
_INTENT_BY_ANCHOR: dict[str, tuple[str, ...]] = {
    w: tuple(p for p in _INTENT if w in p.split()) for w in _INTENT_WORDS}
_INTENT_UNANCHORED = tuple(p for p in _INTENT if not _INTENT_WORDS.intersection(p.split()))
_YOU_FORMS = frozenset({"you", "you'll", "youll", "ya"})

#: Every token that can start one of the frames or harms below.
TRIGGERS = SPEECH | DENOUNCE | _WISH | _IF | _GAME | _HELP_OFFER | _INTENT_WORDS | {"you'll", "youll", "coming", "numbered", "pay", "next", "urmatorul",
                                             "venim", "vom", "platesti"}


def extra_frames(words: list[str], present: frozenset[str] | set[str]) -> list[str]:
    """Frames of a token list: ``quote`` (reported or quoted speech), ``counter`` (a predicate
    that rejects what was said), ``game`` (sport and games), ``helpif`` (help offered on a
    condition: "if you ..., call")."""
    out: list[str] = []
    if present & SPEECH:
        for i, w in enumerate(words):
            # "said that ...", "claiming ...", "posts saying ...": a speech verb with content
            # after it (not a sentence-final "he said").
            if w in SPEECH and i + 2 < len(words) and (
                    words[i + 1] in _THAT or w.endswith("ing") or w in ("claim", "claims", "sustin")):
                out.append("quote")
                break
    if present & DENOUNCE:
        out.append("counter")
    if present & _GAME:
        out.append("game")
    if present & _IF and present & _HELP_OFFER:
        for i, w in enumerate(words):
            if w in _IF and (_SECOND.intersection(words[i + 1:i + 4])
                             and _SELF_WORDS.intersection(words[i + 1:i + 8])):
                out.append("helpif")
                break
    return out


#: Subjects of a death wish aimed at others: "they", "he", a plural noun ("refugees"), RO "ei".
_OTHERS = _ws("they them these those all every he she his her him you people everyone "
              "ei ele toti toate lui lor")
_SELF = _ws("myself me i'm im i've ive i'd my")
_ADVERB = _ws("all really just truly also still ar sa")
_NOT_PLURAL = _ws("is was has this us yes his its thus does plus bus always perhaps")


def _others(before: list[str]) -> bool:
    """Is the subject just before a death wish someone else ("they", "refugees", "romii"), not
    the writer ("I deserve to die" is self-harm talk, its "I" is no token)?"""
    if not before or any(w in _SELF for w in before):
        return False
    w = before[-1]
    if w in _ADVERB and len(before) > 1:
        w = before[-2]
    return w in _OTHERS or (len(w) > 3 and w.endswith("s") and w not in _NOT_PLURAL) or (
        w.endswith("ii"))


def extra_harms(words: list[str], present: frozenset[str] | set[str]) -> list[str]:
    """Harms of a token list: ``wishdeath`` ("they deserve to die", "should be shot",
    "trebuie sa moara"), ``intent1p`` phrases (``_INTENT``) and ``threat2p`` forms the first markers miss ("we are coming for
    you", "you will be shot", "your days are numbered", "you're next")."""
    out: list[str] = []
    n = len(words)
    if present & _WISH:
        for i, w in enumerate(words):
            if w in _WISH and _DEATH_PASSIVE.intersection(words[i + 1:i + 5]) and _others(
                    words[max(0, i - 3):i]):
                out.append("wishdeath")
                break
    threat = False
    if "coming" in present or "venim" in present:
        # "we're coming for you", "venim dupa tine"
        for i, w in enumerate(words):
            if w in ("coming", "venim") and _SECOND.intersection(words[i + 1:i + 4]):
                threat = True
                break
    if not threat and ("numbered" in present and "days" in words and "your" in words):
        threat = True
    if not threat and ("next" in present or "urmatorul" in present):
        for i, w in enumerate(words):
            if w != "next" and w != "urmatorul":
                continue
            after = words[i + 1] if i + 1 < n else ""
            if after in _NOT_THREAT_NEXT:
                continue
            if w == "next" and i and (words[i - 1] in ("you're", "youre") or words[i - 1] in (
                    "be", "are") and "you" in words[max(0, i - 4):i]):
                threat = True
                break
            if w == "urmatorul" and after in ("esti", "vei"):
                threat = True
                break
    if not threat and present & {"you", "you'll", "youll", "ya"}:
        for i, w in enumerate(words[:-2]):
            # "you will be shot", "you'll be found dead", "you are gonna be killed"
            if w in _YOU_FORMS and (
                    _YOU_WILL.intersection(words[i + 1:i + 3]) or w in ("you'll", "youll")):
                tail = words[i + 1:i + 5]
                if "be" in tail and _HURT_PASSIVE.intersection(words[i + 2:i + 6]):
                    threat = True
                    break
    if not threat and "pay" in present and "you" in words:
        for i, w in enumerate(words):
            if w == "pay" and i >= 2 and words[i - 2] in ("you", "you'll", "youll") and (
                    words[i - 1] in ("will", "gonna", "shall") or words[i - 2] in ("you'll", "youll")):
                threat = True
                break
    if not threat and "platesti" in present and ("sa" in words or "vei" in words):
        threat = True
    if threat:
        out.append("threat2p")
    anchors = present & _INTENT_WORDS
    if anchors:
        # Only the phrases that can be there: a phrase is found only where each of its words
        # is a token, so those with an anchor word (``_INTENT_WORDS``) need theirs present.
        joined = " " + " ".join(words) + " "
        phrases = chain(_INTENT_UNANCHORED, *(_INTENT_BY_ANCHOR[w] for w in anchors))
        if any(p in joined for p in phrases):
            out.append("intent1p")
    return out

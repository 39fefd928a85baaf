"""The guard's closed classes of English words (``cache/guard.py``), and how it cuts a prompt into words.

Written by hand because no packaged stopword list separates "the" (harmless) from "not", "after" or
"most" (meaning): each set says what its words do to a question.
"""

import re

TOKEN = re.compile(r"[A-Za-z]+(?:_[A-Za-z]+)*|\d+(?:[.,]\d+)*(?:st|nd|rd|th|s)?")
CONTRACTIONS = ((re.compile(r"\b(what|who|where|when|why|how|which|that|it|there|here)'s\b", re.I), r"\1 is"),
                (re.compile(r"\bwon't\b", re.I), "will not"), (re.compile(r"\bcan't\b", re.I), "can not"), (re.compile(r"n't\b"), " not"),
                (re.compile(r"'ll\b"), " will"), (re.compile(r"'(?:s|re|ve|d|m)\b"), ""))  # fmt: skip
# Words that never change what is asked (articles, auxiliaries, politeness, the request frame).
IGNORED = frozenset(
    """a an the is are am be been being do does can could would may might please kindly me us tell give show let know want
    wonder like help have has it its this that these those there here so just really exactly also very of in on at by for about as and
    thanks thank hey hi i'd""".split()
)
IGNORED |= frozenset(["if"])  # "What happens if ..." / "What happens when ...": a condition, not a question
NEGATIONS = frozenset("not no never none nothing nobody nowhere neither nor without cannot".split())
# Closed classes that carry meaning: they must occur as often on both sides.
STRICT = frozenset(
    """all some any every each most many few several both either only more less fewer least much enough or than before after
    between above below over under with against per vs versus until since during inside outside""".split()
)
RELATIONS = frozenset("to into from onto than before after between above below over under with against per vs versus".split())
# Each preposition marks the role of the words after it (until a comma, a clause or another preposition); the
# ones that mark where something goes share one role, so "10 pounds to kilograms" and "10 kilograms in pounds"
# are seen to trade their goal, whatever the unit. Two words on both sides may not exchange a role. What "how
# many/much" asks for is the goal too, and once it is named, "in" marks the whole ("how many X are in 5 Y").
ROLES = {w: "goal" for w in "to into onto in toward towards".split()} | {"from": "source"}
ROLES |= {w: w for w in "of for by with about on at as than per between before after over under against during vs versus".split()}
SCOPE_ENDS = frozenset("is are am was were be been do does did can could would should will shall may might must".split())
# Verbs that only frame a request ("List three colors." / "Name three colors." / "What are three colors?", "How
# do you say X in French?" / "What is X in French?", "Convert 3 km to miles." / "What is 3 km in miles?"): harmless
# where a verb stands (opening a clause, or after to/you/I/we/please); the other side's own verb must still match.
REQUEST_VERBS = frozenset("list name give tell show share provide state identify find".split())
FRAME_VERBS = REQUEST_VERBS | frozenset("say explain describe suggest convert".split())
VERB_SLOT = frozenset("to you i we please".split())
WH = {w: w for w in "who when where why how whose".split()} | {"what": "what", "which": "what", "whom": "who"}
PAST_AUX, FUTURE_AUX = frozenset("was were did had".split()), frozenset("will shall".split())
# "I" and a generic "you" ask alike ("How do I ..." / "How do you ..."); "we" is several ("we are hungry" / "I am hungry").
PERSON = {w: "1" for w in "i my mine myself".split()} | {w: "1p" for w in "we our ours ourselves".split()}
PERSON |= {w: "1" for w in "you your yours yourself yourselves".split()}
PERSON |= {w: "3" for w in "he him his himself she her hers herself they them their theirs themselves".split()}
NUMBER_WORDS = {w: str(n) for n, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
                                                 "fifteen sixteen seventeen eighteen nineteen twenty".split())}  # fmt: skip
NUMBER_WORDS |= {w: str(10 * n) for n, w in enumerate("thirty forty fifty sixty seventy eighty ninety".split(), start=3)}
NUMBER_WORDS |= {"hundred": "100", "thousand": "1000", "million": "1e6", "billion": "1e9", "dozen": "12", "half": "0.5", "twice": "x2"}
NUMBER_WORDS |= {w: f"#{n}" for n, w in enumerate("zeroth first second third fourth fifth sixth seventh eighth ninth tenth".split())}
NUMBER_WORDS |= {"ii": "2", "iii": "3", "iv": "4", "vi": "6", "vii": "7", "viii": "8", "ix": "9", "xi": "11", "xii": "12"}
IRREGULAR_DEGREE = {w: "er" for w in "better worse more less".split()} | {w: "est" for w in "best worst most least".split()}
DETERMINERS = frozenset("a an the my your his her its our their this that these those some any each every all".split())
# Words after "one" that make it a number, not the article "a": arithmetic ("one plus two") and "one of".
NOT_COUNTED = frozenset("plus minus times divided multiplied over of another other".split())
# Spellings of one meaning, rewritten before the words are read: "15%" / "15 percent", "what is the number of X" /
# "how many X", "in what way" / "how", "$5" / "5 dollars". (Not "from 1 to 100" / "between 1 and 100": one counts the
# ends; "into" / "to" only after translate/convert: "get into Harvard" is no way there; "each X" becomes "per X", whose
# object is compared like every relation's: "miles per gallon" / "gallons per mile" differ.)
REWRITES = ((re.compile(r"(\d)\s*%"), r"\1 percent"),
            (re.compile(r"\bwhat(?: is| are| was| were)? the (?:total )?number of\b", re.I), "how many"),
            (re.compile(r"\bwhat number of\b", re.I), "how many"), (re.compile(r"\bin what way\b", re.I), "how"),
            (re.compile(r"\bwhat is (?:the|a) way to\b", re.I), "how to"),
            # a year or decade: "during the 1920s" / "in the 1920s" (not "during the war": "in the war" may mean fighting it)
            (re.compile(r"\bduring (the )?(\d{3,4}s?)\b", re.I), r"in \1\2"),
            # translating or converting into a language or unit: "into German" / "to German" (not "get into Harvard")
            (re.compile(r"\b(translat\w*|convert\w*)\b([^.?!;]*?)\binto\b", re.I), r"\1\2to"),
            (re.compile(r"\beach (?!of\b|other\b)", re.I), "per "),  # "each night" / "per night"; what follows "per" must align
            (re.compile(r"\$\s?(\d[\d,.]*)"), r"\1 dollars"), (re.compile(r"\u20ac\s?(\d[\d,.]*)"), r"\1 euros"),
            (re.compile(r"\u00a3\s?(\d[\d,.]*)"), r"\1 pounds"))  # fmt: skip
# Words before a final "one" that make it a pro-form ("the largest one", "which one"), as "a" before a noun.
PRO_ONE = frozenset("the this that which each every another any".split())
LOCATIVE = frozenset("in at from".split())  # "in which town": the noun after which/what names a place
# The particle of a phrasal verb WordNet lists as one word ("turn off", "grow up", "come out").
PARTICLES = frozenset("up off out down away back".split())  # not in/on/over: mostly prepositions ("eat in Japan")
# A quoted text is what is asked about ("Translate 'we are hungry'"): it must be the same on both sides, word for word.
QUOTED = re.compile(r"(?:^|(?<=[\s(\[]))([\'\"`])(.+?)\1(?=$|[\s.,?!;:)\]])")
# Code is meant symbol for symbol ("'abc'[::-1]" / "'abc'[1:]"): a chunk between spaces holding a symbol other than
# sentence punctuation, a quote or a hyphen inside a word ("10-day") is compared whole.
CODE_SYMBOL = re.compile(r"[\[\]{}()<>=+*/\\|&^%$#@~`:_\u00a2\u00a5\u20a9\u20b9\u20bd\u20ba\u20b1\u20bf]|(?<!\w)-|-(?!\w)")
CHUNK_EDGES = ".,?!;:\"'`"

"""A second, fresh held-out set of semantic-cache pairs (split ``fresh``): reported only, never tuned on.

Written on 2026-11-30 after the first test part had been seen (its unit-swap false hits were found
there, so it is no longer a clean held-out set) and before any guard change was measured on it:
new templates and new word lists (other cities, countries, people, works, elements, languages,
programming operations), covering issue 18's categories. Each family asks one question in a few
natural ways (paraphrase pairs) and, with one slot moved to its neighbour's value, a near miss in
the same wording and one in the next wording. Deterministic: the same list every run.
"""

from __future__ import annotations

from itertools import combinations

from loadtest.inprocess.cache_families import Family

# The lists read better grouped than one item a line, as ruff would put them.
# fmt: off
CITIES = ("Lisbon", "Prague", "Vienna", "Kyoto", "Istanbul", "Bangkok", "Marrakesh", "Reykjavik", "Havana", "Seoul")
NATIONS = ("Sweden", "Mexico", "Thailand", "Switzerland", "Australia", "Turkey", "Vietnam", "Argentina", "Greece", "Ireland")
FOLK = ("Frida Kahlo", "Leonardo da Vinci", "Ludwig van Beethoven", "Florence Nightingale", "Mahatma Gandhi", "Nelson Mandela",
        "Rosalind Franklin", "Johannes Kepler", "Jane Austen", "Wolfgang Amadeus Mozart")
SCIENTISTS = ("Alexander Fleming", "Louis Pasteur", "Dmitri Mendeleev", "Gregor Mendel", "Edwin Hubble", "Ernest Rutherford",
              "Max Planck", "Michael Faraday")
BOOKS = ("Jane Eyre", "The Great Gatsby", "Brave New World", "Crime and Punishment", "Anna Karenina", "Great Expectations",
         "Wuthering Heights", "The Hobbit", "Middlemarch", "Les Miserables")
SUBSTANCES = ("boron", "silicon", "arsenic", "lithium", "magnesium", "sulfur", "phosphorus", "calcium", "potassium", "chlorine", "argon")
TONGUES = ("Korean", "Arabic", "Mandarin", "Finnish", "Hungarian", "Turkish", "Polish", "Hindi", "Swahili", "Vietnamese")
PROG = ("Haskell", "Perl", "Swift", "Scala", "Elixir", "Fortran", "Lua", "PHP", "Julia")


def _one(values) -> tuple[tuple[str, ...], ...]:
    return tuple((v,) for v in values)


FRESH_FAMILIES = (
    Family("antonym", ("What is the {x} river in Africa?", "Which river in Africa is the {x}?", "Name the {x} river in Africa."),
           _one(("longest", "shortest", "widest", "deepest"))),
    Family("antonym", ("Which is the {x} continent?", "What continent is the {x}?", "Which continent is the {x} one?"),
           _one(("largest", "smallest", "driest", "wettest", "coldest"))),
    Family("antonym", ("Who was the {x} person to walk on the Moon?", "Who was the {x} man to walk on the Moon?"),
           _one(("first", "second", "last", "youngest"))),
    Family("antonym", ("Is a {x} interest rate good for borrowers?", "Are {x} interest rates good for borrowers?"),
           _one(("high", "low", "fixed", "variable"))),
    Family("antonym", ("What should I eat {x} a workout?", "What should I eat {x} working out?", "What's good to eat {x} a workout?"),
           _one(("before", "after", "during"))),
    Family("antonym", ("Which metal is {x}, gold or silver?", "Is gold or silver {x}?", "Which is {x}: gold or silver?"),
           _one(("heavier", "lighter", "softer", "harder", "cheaper"))),
    Family("antonym", ("How do I make my coffee {x}?", "How can I make coffee {x}?", "Ways to make my coffee {x}"),
           _one(("stronger", "weaker", "sweeter", "hotter"))),
    Family("antonym", ("What are the {x} effects of caffeine?", "Which effects of caffeine are {x}?"),
           _one(("positive", "negative", "short-term", "long-term"))),
    Family("antonym", ("How do I turn {x} the lights with Alexa?", "How can I use Alexa to turn {x} the lights?"), _one(("on", "off"))),
    Family("antonym", ("What is the {x} month of the year?", "Which month of the year is the {x}?", "Which month is the {x} of the year?"),
           _one(("first", "last", "hottest", "wettest", "shortest"))),
    Family("entity", ("What is the best time of year to visit {x}?", "When is the best time to visit {x}?",
                      "What time of year should I visit {x}?"), _one(CITIES)),
    Family("entity", ("What currency is used in {x}?", "What is the currency of {x}?", "Which currency does {x} use?"), _one(NATIONS)),
    Family("entity", ("What is the official language of {x}?", "What language do people speak in {x}?", "Which language is spoken in {x}?"),
           _one(NATIONS)),
    Family("entity", ("Where did {x} grow up?", "Where was {x} raised?", "In which town did {x} grow up?"), _one(FOLK)),
    Family("entity", ("What did {x} discover?", "What discovery is {x} known for?", "What was discovered by {x}?"), _one(SCIENTISTS)),
    Family("entity", ("When was {x} first published?", "What year was {x} published?", "In which year did {x} come out?"), _one(BOOKS)),
    Family("entity", ("Who are the main characters in {x}?", "Name the main characters of {x}.", "List the main characters in {x}."),
           _one(BOOKS)),
    Family("entity", ("Is {x} a metal?", "Is {x} a metal or a nonmetal?", "Does {x} count as a metal?"), _one(SUBSTANCES)),
    Family("entity", ("What is the melting point of {x}?", "At what temperature does {x} melt?", "What temperature does {x} melt at?"),
           _one(SUBSTANCES)),
    Family("entity", ("Is {x} hard to learn for English speakers?", "How difficult is {x} for an English speaker to learn?",
                      "Is it difficult for English speakers to learn {x}?"), _one(TONGUES)),
    Family("entity", ("How many people speak {x}?", "How many speakers does {x} have?", "What is the number of {x} speakers?"),
        _one(TONGUES)),
    Family("entity", ("How do I get from {x} to {y} by train?", "What's the best train route from {x} to {y}?",
                      "How can I travel by train from {x} to {y}?"),
           (("Paris", "Berlin"), ("Berlin", "Paris"), ("Madrid", "Lisbon"), ("Lisbon", "Madrid"), ("Rome", "Vienna"), ("Vienna", "Rome"))),
    Family("entity", ("Translate 'see you tomorrow' from {x} into {y}.", "How would you translate 'see you tomorrow' from {x} to {y}?"),
           (("English", "German"), ("German", "English"), ("French", "Italian"), ("Italian", "French"), ("Spanish", "English"),
            ("English", "Spanish"))),
    Family("entity", ("What is {x} mainly used for?", "What is the {x} programming language used for?", "What do people use {x} for?"),
           _one(PROG)),
    Family("code", ("How do I write a for loop in {x}?", "In {x}, how do you write a for loop?", "What does a for loop look like in {x}?"),
           _one(PROG)),
    Family("code", ("How do I {x} a dictionary in Python?", "In Python, how can I {x} a dictionary?", "How to {x} a Python dictionary?",
                    "What's the way to {x} a dict in Python?"), _one(("merge", "sort", "invert", "copy", "clear", "filter"))),
    Family("code", ("How do I {x} an array in Java?", "In Java, how do I {x} an array?", "How can I {x} a Java array?"),
           _one(("sort", "copy", "reverse", "fill", "print", "resize"))),
    Family("code", ("Write a SQL query to {x} rows in a table.", "Write an SQL statement that can {x} rows in a table.",
                    "How do I {x} rows in a SQL table?"), _one(("count", "delete", "update", "select", "insert"))),
    Family("code", ("How do I convert a {x} to a {y} in JavaScript?", "In JavaScript, how do I turn a {x} into a {y}?",
                    "How can I convert a JavaScript {x} to a {y}?"),
           (("string", "number"), ("number", "string"), ("array", "string"), ("string", "array"), ("object", "array"), ("array",
               "object"))),
    Family("code", ("How do I {x} a Git branch?", "How can I {x} a branch in Git?", "What is the git command to {x} a branch?"),
           _one(("create", "delete", "rename", "merge", "rebase"))),
    Family("code", ("What is the time complexity of {x} in the worst case?", "What's the worst-case time complexity of {x}?",
                    "In the worst case, what is the time complexity of {x}?"),
           _one(("quicksort", "mergesort", "heapsort", "binary search", "insertion sort", "bubble sort"))),
    Family("number", ("Give me {x} ideas for a birthday party.", "Suggest {x} birthday party ideas.",
        "What are {x} ideas for a birthday party?"),
           _one(("three", "four", "five", "six", "eight", "twelve"))),
    Family("number", ("What is {x} divided by {y}?", "What's {x} divided by {y}?", "How much is {x} divided by {y}?", "Divide {x} by {y}."),
           (("144", "12"), ("12", "144"), ("100", "8"), ("81", "9"), ("9", "81"), ("60", "5"))),
    Family("number", ("Is {x} a prime number?", "Is the number {x} prime?", "Is {x} prime?"), _one(("91", "97", "51", "53", "87",
        "89", "119"))),
    Family("number", ("What is {x} percent of 80?", "What's {x}% of 80?", "How much is {x} percent of 80?"),
           _one(("15", "20", "25", "40", "75"))),
    Family("number", ("Plan a {x}-day trip to Scotland.", "Make a {x} day itinerary for Scotland.",
                      "Give me a {x}-day itinerary for a trip to Scotland."), _one(("2", "3", "5", "7", "10"))),
    Family("unit", ("Convert {x} ounces to grams.", "How many grams is {x} ounces?", "What is {x} ounces in grams?"),
           _one(("2", "4", "8", "16", "32"))),
    Family("unit", ("Convert 5 {x} to {y}.", "How many {y} are in 5 {x}?", "What is 5 {x} in {y}?", "Change 5 {x} into {y}."),
           (("feet", "meters"), ("meters", "feet"), ("miles", "kilometers"), ("kilometers", "miles"), ("cups", "milliliters"),
            ("milliliters", "cups"), ("yards", "meters"), ("meters", "yards"))),
    Family("unit", ("What is the speed of light in {x} per {y}?", "How fast is light in {x} per {y}?",
        "What's light's speed in {x} per {y}?"),
           (("kilometers", "second"), ("miles", "second"), ("meters", "second"), ("miles", "hour"), ("kilometers", "hour"))),
    Family("unit", ("Convert 100 {x} to {y}.", "How much is 100 {x} in {y}?", "What are 100 {x} worth in {y}?"),
           (("dollars", "euros"), ("euros", "dollars"), ("pounds", "yen"), ("yen", "pounds"), ("euros", "francs"))),
    Family("date", ("Who was the prime minister of the United Kingdom in {x}?", "In {x}, who was the UK prime minister?",
                    "Who was Britain's prime minister in {x}?"), _one(("1940", "1945", "1979", "1990", "1997", "2010"))),
    Family("date", ("What happened on {x}?", "What events took place on {x}?", "What happened on the day of {x}?"),
           _one(("20 July 1969", "9 November 1989", "6 June 1944", "14 July 1789", "11 September 2001"))),
    Family("date", ("Which inventions appeared between {x} and {y}?", "What was invented between {x} and {y}?",
        "List inventions from {x} to {y}."),
           (("1800", "1850"), ("1850", "1900"), ("1800", "1900"), ("1900", "1950"), ("1950", "2000"))),
    Family("date", ("How did fashion change in the {x}?", "How did fashion change during the {x}?",
        "What were the fashion changes of the {x}?"),
           _one(("1920s", "1950s", "1960s", "1970s", "1980s", "1990s"))),
    Family("date", ("What's the weather like in {x} in {y}?", "How is the weather in {x} during {y}?",
        "What is {x}'s weather like in {y}?"),
           (("Lisbon", "January"), ("Lisbon", "July"), ("Oslo", "January"), ("Oslo", "July"), ("Kyoto", "April"), ("Kyoto", "October"))),
)

FOODS = ("potatoes", "salmon", "lentils", "yogurt", "avocado", "broccoli", "oatmeal", "almonds")
CREATURES = ("birds", "bats", "whales", "bees", "frogs", "owls", "wolves", "lizards")
TOPICS = ("blockchain", "climate change", "quantum entanglement", "natural selection", "supply and demand", "machine learning",
          "plate tectonics", "the immune system")
FRESH_CONTRASTS: tuple[tuple[str, tuple[tuple[str, str], ...], tuple[str, ...]], ...] = (
    ("negation", (("Why is {x} good for dogs?", "Why is {x} not good for dogs?"), ("Is it safe to freeze {x}?",
        "Is it unsafe to freeze {x}?"),
                  ("What happens if you eat {x} every day?", "What happens if you never eat {x}?"),
                  ("Dishes that contain {x}", "Dishes that contain no {x}"),
                  ("How can I cook {x} with a microwave?", "How can I cook {x} without a microwave?"),
                  ("Is {x} good for your heart?", "Is {x} bad for your heart?")), FOODS),
    ("quantifier", (("Do all {x} migrate in winter?", "Do most {x} migrate in winter?"),
                    ("Why do some {x} sleep during the day?", "Why do all {x} sleep during the day?"),
                    ("Can any {x} see in color?", "Can no {x} see in color?"), ("Do {x} usually live alone?", "Do {x} rarely live alone?"),
                    ("Why do only a few {x} live in cities?", "Why do many {x} live in cities?")), CREATURES),
    ("tense", (("Who leads {x}?", "Who led {x}?"), ("What does {x} export?", "What did {x} export?"),
               ("Does {x} have a monarchy?", "Did {x} have a monarchy?"),
               ("Who will govern {x} after the election?", "Who governed {x} after the election?")), NATIONS[:8]),
    ("person", (("How do I renew my driving licence in {x}?", "How does my father renew his driving licence in {x}?"),
                ("Which vaccines do I need before traveling to {x}?", "Which vaccines does my son need before traveling to {x}?"),
                ("Can I work remotely from {x}?", "Can my wife work remotely from {x}?"),
                ("Help me plan my honeymoon in {x}.", "Help them plan their honeymoon in {x}.")), NATIONS[:8]),
    ("constraint", (("Explain {x} in simple terms.", "Explain {x} in technical terms."),
                    ("Summarize {x} in three sentences.", "Summarize {x} in ten sentences."),
                    ("Write a short poem about {x}.", "Write a long poem about {x}."),
                    ("Describe {x} for a beginner.", "Describe {x} for an expert."),
                    ("Explain {x} using an analogy.", "Explain {x} using math."),
                    ("Write an essay on {x} in under 200 words.", "Write an essay on {x} in over 200 words."),
                    ("Give a formal definition of {x}.", "Give an informal definition of {x}.")), TOPICS),
)
# fmt: on


def fresh_pairs() -> list[dict]:
    """Every fresh pair: ``a`` (cached), ``b`` (new), ``label``, ``category``, ``split`` (always ``fresh``)."""
    return make_pairs(FRESH_FAMILIES, FRESH_CONTRASTS, "fresh")


def make_pairs(families, contrasts, split: str) -> list[dict]:
    """Paraphrase pairs within each family's phrasings; near misses: a value against the next one, in the same wording
    and in the next wording; and each contrast pair (same wording, one meaning-bearing word changed)."""
    rows: list[dict] = []
    for family in families:
        fill = [[p.format(**dict(zip("xy", value, strict=False))) for p in family.phrasings] for value in family.values]
        for texts in fill:
            rows += [_row(a, b, "paraphrase", family.category, split) for a, b in combinations(texts, 2)]
        for i, texts in enumerate(fill):
            other = fill[(i + 1) % len(fill)]
            rows += [_row(a, b, "near_miss", family.category, split) for a, b in zip(texts, other, strict=True)]  # same wording
            rows += [_row(a, b, "near_miss", family.category, split) for a, b in zip(texts, other[1:] + other[:1], strict=True)]
    for category, pairs, xs in contrasts:
        rows += [_row(a.format(x=x), b.format(x=x), "near_miss", category, split) for a, b in pairs for x in xs]
    return rows


def _row(a: str, b: str, label: str, category: str, split: str) -> dict:
    return {"a": a, "b": b, "label": label, "category": category, "split": split}

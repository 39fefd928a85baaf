"""A third set of semantic-cache pairs (split ``fresh2``), held out from the guard's last change.

Written on 2026-11-30 after the first guard change had been measured on the test part and on
``cache_fresh`` (both then showed unit swaps phrased "How many X is/are in N Y"), and before the
change that followed was written or run on it: new templates and word lists again, over issue 18's
categories. Pairs are made as in ``cache_fresh``. Reported only, never tuned on.
"""

from __future__ import annotations

from loadtest.inprocess.cache_families import Family
from loadtest.inprocess.cache_fresh import make_pairs

# The lists read better grouped than one item a line, as ruff would put them.
# fmt: off
SKYLINES = ("Dubai", "Shanghai", "Chicago", "Toronto", "Singapore", "Sydney", "Madrid", "Warsaw")
RIVER_CITIES = ("Budapest", "Cairo", "Florence", "Dublin", "Cologne", "Lyon", "Basel", "Krakow")
PLAYERS = ("Miles Davis", "Jimi Hendrix", "Yo-Yo Ma", "Louis Armstrong", "Jacqueline du Pre", "Django Reinhardt", "Glenn Gould")
PAINTINGS = ("The Starry Night", "The Night Watch", "Guernica", "The Scream", "Las Meninas", "The Birth of Venus",
             "The Persistence of Memory", "American Gothic")
LIQUIDS = ("mercury", "bromine", "iodine", "xenon", "krypton", "fluorine", "radon", "cesium")
SPEECH = ("Tagalog", "Amharic", "Farsi", "Icelandic", "Basque", "Catalan", "Bengali", "Malay")


def _one(values) -> tuple[tuple[str, ...], ...]:
    return tuple((v,) for v in values)


FRESH2_FAMILIES = (
    Family("antonym", ("What is the {x} bone in the human body?", "Which bone in the human body is the {x}?",
                       "In the human body, which bone is the {x}?"), _one(("longest", "smallest", "strongest", "weakest"))),
    Family("antonym", ("Should I stretch {x} running?", "Is it good to stretch {x} running?", "Should I do stretches {x} running?"),
           _one(("before", "after", "while"))),
    Family("antonym", ("Is it {x} to drink coffee on an empty stomach?", "Is drinking coffee on an empty stomach {x}?"),
           _one(("safe", "harmful", "healthy", "unhealthy"))),
    Family("antonym", ("How do I make a room feel {x}?", "How can I make my room feel {x}?"),
           _one(("bigger", "smaller", "warmer", "cooler", "brighter", "darker"))),
    Family("antonym", ("Who was the {x} emperor of Rome?", "Who was Rome's {x} emperor?", "Which emperor of Rome was the {x}?"),
           _one(("first", "last", "second", "youngest"))),
    Family("entity", ("What is the tallest building in {x}?", "Which building is the tallest in {x}?",
                      "What's the highest building in {x}?"), _one(SKYLINES)),
    Family("entity", ("What river flows through {x}?", "Which river runs through {x}?", "What is the river that flows through {x}?"),
           _one(RIVER_CITIES)),
    Family("entity", ("What instrument did {x} play?", "Which instrument did {x} play?", "What was the instrument {x} played?"),
           _one(PLAYERS)),
    Family("entity", ("Who painted {x}?", "Which artist painted {x}?", "Who is the painter of {x}?"), _one(PAINTINGS)),
    Family("entity", ("What is the boiling point of {x}?", "At what temperature does {x} boil?", "What temperature does {x} boil at?"),
           _one(LIQUIDS)),
    Family("entity", ("Where is {x} spoken?", "In which countries is {x} spoken?", "Which countries speak {x}?"), _one(SPEECH)),
    Family("entity", ("How long does it take to fly from {x} to {y}?", "What's the flight time from {x} to {y}?",
                      "How many hours is a flight from {x} to {y}?"),
           (("London", "Tokyo"), ("Tokyo", "London"), ("Sydney", "Auckland"), ("Auckland", "Sydney"), ("Lima", "Bogota"),
            ("Bogota", "Lima"))),
    Family("code", ("How do I {x} a file in Linux?", "In Linux, how do I {x} a file?", "What's the Linux command to {x} a file?"),
           _one(("delete", "copy", "rename", "compress", "move", "find"))),
    Family("code", ("How do I {x} a column in pandas?", "In pandas, how can I {x} a column?", "How to {x} a pandas column?"),
           _one(("drop", "rename", "sort", "normalize", "duplicate"))),
    Family("code", ("How do I convert a {x} to a {y} in Java?", "In Java, how do I convert a {x} to a {y}?",
                    "How can a {x} be converted to a {y} in Java?"),
           (("String", "int"), ("int", "String"), ("array", "ArrayList"), ("ArrayList", "array"), ("char", "String"),
            ("String", "char"))),
    Family("number", ("What is the square root of {x}?", "What's the square root of {x}?", "Calculate the square root of {x}."),
           _one(("49", "64", "81", "144", "169", "200"))),
    Family("number", ("Recommend {x} books about history.", "Suggest {x} history books.", "What are {x} good books about history?"),
           _one(("two", "three", "five", "seven", "ten"))),
    Family("number", ("What is {x} minus {y}?", "What's {x} minus {y}?", "How much is {x} minus {y}?", "Subtract {y} from {x}."),
           (("100", "37"), ("37", "100"), ("50", "8"), ("8", "50"), ("1000", "1"))),
    Family("unit", ("Convert 3 {x} to {y}.", "How many {y} are in 3 {x}?", "How many {y} is 3 {x}?", "3 {x} in {y}?"),
           (("pints", "liters"), ("liters", "pints"), ("acres", "hectares"), ("hectares", "acres"), ("tablespoons", "teaspoons"),
            ("teaspoons", "tablespoons"))),
    Family("unit", ("How many {x} are there in a {y}?", "How many {x} make a {y}?", "How many {x} does a {y} contain?"),
           (("grams", "kilogram"), ("milliliters", "liter"), ("centimeters", "meter"), ("ounces", "pound"), ("feet", "mile"))),
    Family("date", ("Who won the Nobel Prize in Physics in {x}?", "In {x}, who won the Nobel Prize in Physics?",
                    "Who was awarded the Nobel Prize in Physics in {x}?"), _one(("1903", "1921", "1965", "1979", "2017"))),
    Family("date", ("What was the population of the world in {x}?", "How many people lived on Earth in {x}?",
                    "What was the world population in {x}?"), _one(("1800", "1900", "1950", "2000"))),
    Family("date", ("Which countries joined the European Union between {x} and {y}?",
                    "What countries became EU members between {x} and {y}?"),
           (("1970", "1980"), ("1980", "1990"), ("1990", "2000"), ("2000", "2010"), ("1970", "2010"))),
    Family("date", ("What was popular music like in the {x}?", "Describe popular music in the {x}.",
                    "How did popular music sound in the {x}?"), _one(("1930s", "1940s", "1960s", "1980s", "2000s"))),
    Family("date", ("Which holidays are celebrated in {x}?", "What holidays do people celebrate in {x}?"),
           _one(("March", "April", "May", "October", "November", "December"))),
)

REMEDIES = ("ginger", "turmeric", "chamomile", "melatonin", "peanuts", "kiwi", "lavender", "garlic")
CRAWLERS = ("snakes", "spiders", "bears", "squirrels", "beetles", "toads", "ants", "crabs")
STATES = ("Portugal", "Nigeria", "Chile", "Malaysia", "Denmark", "Morocco", "Austria", "Colombia")
SUBJECTS = ("black holes", "vaccines", "compound interest", "the water cycle", "neural networks", "cryptocurrency",
            "continental drift", "the stock market")
FRESH2_CONTRASTS: tuple[tuple[str, tuple[tuple[str, str], ...], tuple[str, ...]], ...] = (
    ("negation", (("Is {x} safe for cats?", "Is {x} toxic to cats?"), ("Why does {x} help with sleep?", "Why doesn't {x} help with sleep?"),
                  ("Foods to eat with {x}", "Foods not to eat with {x}"),
                  ("Is it okay to give children {x}?", "Is it not okay to give children {x}?"),
                  ("Should {x} be refrigerated?", "Should {x} never be refrigerated?")), REMEDIES),
    ("quantifier", (("Are all {x} poisonous?", "Are some {x} poisonous?"), ("Do most {x} hibernate?", "Do few {x} hibernate?"),
                    ("Can every {x} climb trees?", "Can any {x} climb trees?")), CRAWLERS),
    ("tense", (("Who coaches the national team of {x}?", "Who coached the national team of {x}?"),
               ("What is the main industry of {x}?", "What was the main industry of {x}?"),
               ("How does {x} fund its schools?", "How will {x} fund its schools?")), STATES),
    ("person", (("Can I get a work visa for {x}?", "Can my brother get a work visa for {x}?"),
                ("What documents do I need to move to {x}?", "What documents does my family need to move to {x}?"),
                ("Where should we stay in {x}?", "Where should they stay in {x}?")), STATES),
    ("constraint", (("Explain {x} in under 50 words.", "Explain {x} in under 500 words."),
                    ("Explain {x} for a ten-year-old.", "Explain {x} for a PhD student."),
                    ("Write a tweet about {x}.", "Write a blog post about {x}."),
                    ("Describe {x} with a diagram.", "Describe {x} without a diagram."),
                    ("Summarize {x} in Spanish.", "Summarize {x} in German.")), SUBJECTS),
)
# fmt: on


def fresh2_pairs() -> list[dict]:
    """Every pair of this set, split ``fresh2``."""
    return make_pairs(FRESH2_FAMILIES, FRESH2_CONTRASTS, "fresh2")

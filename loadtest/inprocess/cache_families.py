"""The template families of the semantic cache's evaluation pairs (see ``cache_pairs``): each question
asked in a few natural ways, with a list of slot values whose neighbours make its near misses."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Family:
    category: str
    phrasings: tuple[str, ...]  # the same question, worded differently; {x} (and {y}) are the slots
    values: tuple[tuple[str, ...], ...]  # slot values; a near miss swaps one for its neighbour in this list
    contrasts: tuple[tuple[str, str], ...] = ()  # (phrasing, contrasting phrasing): near misses by wording


COUNTRIES = (
    "France",
    "Germany",
    "Spain",
    "Italy",
    "Japan",
    "Canada",
    "Brazil",
    "Egypt",
    "India",
    "Kenya",
    "Norway",
    "Peru",
    "Poland",
    "Chile",
)
PEOPLE = (
    "Albert Einstein",
    "Isaac Newton",
    "Marie Curie",
    "Charles Darwin",
    "Ada Lovelace",
    "Nikola Tesla",
    "Galileo Galilei",
    "Alan Turing",
)
WORKS = ("Hamlet", "Pride and Prejudice", "Moby Dick", "War and Peace", "The Odyssey", "Don Quixote", "Frankenstein", "Dracula", "Ulysses")
ELEMENTS = ("hydrogen", "helium", "carbon", "oxygen", "nitrogen", "iron", "gold", "silver", "copper", "sodium", "neon", "zinc")
LANGUAGES = ("French", "Spanish", "German", "Italian", "Japanese", "Portuguese", "Russian", "Dutch", "Swedish", "Greek")
CODE_LANGS = ("Python", "JavaScript", "Java", "Go", "Rust", "Ruby", "C++", "Kotlin")
ANIMALS = ("cats", "dogs", "horses", "rabbits", "parrots", "goldfish", "hamsters", "turtles")
NUMBERS = ("two", "three", "four", "five", "seven", "ten")
DIGITS = ("3", "5", "12", "20", "48", "100", "250")
YEARS = ("1905", "1914", "1945", "1969", "1989", "2001", "2008")

FAMILIES = (
    # antonyms, ordinals and comparatives
    Family(
        "antonym",
        ("List three {x} colors.", "Name three {x} colours.", "What are three {x} colors?"),
        (("primary",), ("secondary",), ("tertiary",)),
    ),
    Family(
        "antonym",
        (
            "What is the {x} planet in the solar system?",
            "Which planet in the solar system is the {x}?",
            "In the solar system, what's the {x} planet?",
        ),
        (("largest",), ("smallest",), ("hottest",), ("coldest",), ("closest",), ("farthest",)),
    ),
    Family(
        "antonym",
        ("Who was the {x} president of the United States?", "Who was the United States' {x} president?"),
        (("first",), ("last",), ("youngest",), ("oldest",), ("second",), ("third",)),
    ),
    Family(
        "antonym",
        ("What are the {x} of nuclear power?", "What are nuclear power's {x}?", "Explain the {x} of nuclear power."),
        (("advantages",), ("disadvantages",), ("benefits",), ("risks",), ("strengths",), ("weaknesses",)),
    ),
    Family(
        "antonym",
        ("What happened {x} the French Revolution?", "What events came {x} the French Revolution?"),
        (("before",), ("after",), ("during",)),
    ),
    Family(
        "antonym", ("Which uses {x} energy, a fridge or a freezer?", "Does a fridge or a freezer use {x} energy?"), (("more",), ("less",))
    ),
    Family(
        "antonym",
        ("What is the {x} ocean on Earth?", "Which ocean on Earth is the {x}?", "On Earth, what's the {x} ocean?"),
        (("deepest",), ("shallowest",), ("biggest",), ("smallest",), ("warmest",), ("coldest",)),
    ),
    Family(
        "antonym",
        ("How do I {x} the volume on an iPhone?", "How can I {x} the volume on my iPhone?"),
        (("increase",), ("decrease",), ("mute",), ("unmute",)),
    ),
    Family(
        "antonym",
        ("What is the {x} mountain in Europe?", "Which mountain in Europe is the {x}?"),
        (("highest",), ("lowest",), ("oldest",), ("youngest",)),
    ),
    # entity swaps: places, people, works, elements, languages
    Family(
        "entity",
        ("What is the capital of {x}?", "What's the capital city of {x}?", "Which city is the capital of {x}?", "Name the capital of {x}."),
        tuple((c,) for c in COUNTRIES),
    ),
    Family(
        "entity",
        ("What is the population of {x}?", "How many people live in {x}?", "What's the population of {x}?"),
        tuple((c,) for c in COUNTRIES),
    ),
    Family("entity", ("When was {x} born?", "In what year was {x} born?", "What year was {x} born?"), tuple((p,) for p in PEOPLE)),
    Family("entity", ("What is {x} famous for?", "Why is {x} famous?", "What is {x} best known for?"), tuple((p,) for p in PEOPLE)),
    Family("entity", ("Who wrote {x}?", "Who is the author of {x}?", "Who was {x} written by?"), tuple((w,) for w in WORKS)),
    Family(
        "entity",
        ("Summarize the plot of {x}.", "Give me a summary of the plot of {x}.", "What is the plot of {x}? Summarize it."),
        tuple((w,) for w in WORKS),
    ),
    Family(
        "entity",
        ("What is the atomic number of {x}?", "What's the atomic number of {x}?", "Give the atomic number of {x}."),
        tuple((e,) for e in ELEMENTS),
    ),
    Family(
        "entity",
        ("What is the chemical symbol for {x}?", "What's the symbol of {x} on the periodic table?", "Which chemical symbol does {x} have?"),
        tuple((e,) for e in ELEMENTS),
    ),
    Family(
        "entity",
        ("How do you say thank you in {x}?", "What is thank you in {x}?", "How do I say thank you in {x}?"),
        tuple((lang,) for lang in LANGUAGES),
    ),
    Family(
        "entity",
        ("Translate 'good morning' into {x}.", "How do you say 'good morning' in {x}?", "What is 'good morning' in {x}?"),
        tuple((lang,) for lang in LANGUAGES),
    ),
    Family("entity", ("What do {x} eat?", "What food do {x} eat?", "What should I feed {x}?"), tuple((a,) for a in ANIMALS)),
    Family(
        "entity",
        ("How long do {x} live?", "What is the lifespan of {x}?", "What's the average lifespan of {x}?"),
        tuple((a,) for a in ANIMALS),
    ),
    # programming operations and languages
    Family(
        "code",
        (
            "How do I {x} a list in Python?",
            "In Python, how do I {x} a list?",
            "How can I {x} a Python list?",
            "How to {x} a list in Python?",
        ),
        (("sort",), ("reverse",), ("shuffle",), ("copy",), ("flatten",), ("empty",), ("slice",)),
    ),
    Family(
        "code",
        (
            "How do I convert a {x} to a {y} in Python?",
            "In Python, how can I convert a {x} to a {y}?",
            "How to turn a {x} into a {y} in Python?",
        ),
        (
            ("list", "dict"),
            ("dict", "list"),
            ("string", "integer"),
            ("integer", "string"),
            ("list", "set"),
            ("set", "list"),
            ("tuple", "list"),
        ),
    ),
    Family(
        "code",
        ("How do I reverse a string in {x}?", "In {x}, how do I reverse a string?", "How can I reverse a string in {x}?"),
        tuple((c,) for c in CODE_LANGS),
    ),
    Family(
        "code",
        (
            "How do I read a file line by line in {x}?",
            "In {x}, how can I read a file line by line?",
            "How to read a file line by line in {x}?",
        ),
        tuple((c,) for c in CODE_LANGS),
    ),
    Family(
        "code",
        ("How do I {x} a string in JavaScript?", "In JavaScript, how do I {x} a string?", "How can I {x} a JavaScript string?"),
        (("uppercase",), ("lowercase",), ("split",), ("trim",), ("reverse",), ("encode",), ("decode",)),
    ),
    Family(
        "code",
        ("Write a Python function that sorts a list in {x} order.", "Write a Python function to sort a list in {x} order."),
        (("ascending",), ("descending",), ("alphabetical",), ("random",)),
    ),
    Family(
        "code",
        ("How do I remove the {x} element of an array in JavaScript?", "In JavaScript, how do I remove the {x} element of an array?"),
        (("first",), ("last",), ("second",)),
    ),
    # numbers, units, dates and ranges
    Family(
        "number",
        ("Give me {x} tips for better sleep.", "Share {x} tips for sleeping better.", "What are {x} tips for better sleep?"),
        tuple((n,) for n in NUMBERS),
    ),
    Family(
        "number",
        ("What is {x} times {y}?", "What's {x} times {y}?", "Calculate {x} times {y}.", "How much is {x} times {y}?"),
        (("7", "8"), ("8", "7"), ("12", "12"), ("13", "12"), ("6", "9"), ("9", "6"), ("25", "4")),
    ),
    Family("number", ("Write a {x}-word story about a dragon.", "Write a story about a dragon in {x} words."), tuple((d,) for d in DIGITS)),
    Family(
        "number",
        ("List {x} countries in Africa.", "Name {x} African countries.", "Give me {x} countries in Africa."),
        tuple((n,) for n in NUMBERS),
    ),
    Family(
        "unit",
        ("Convert {x} kilometers to miles.", "How many miles is {x} kilometers?", "What is {x} kilometers in miles?"),
        tuple((d,) for d in DIGITS),
    ),
    Family(
        "unit",
        ("Convert 30 degrees {x} to {y}.", "What is 30 degrees {x} in {y}?", "How much is 30 degrees {x} in {y}?"),
        (("Celsius", "Fahrenheit"), ("Fahrenheit", "Celsius"), ("Celsius", "Kelvin"), ("Kelvin", "Celsius")),
    ),
    Family(
        "unit",
        ("How many {x} are in a {y}?", "How many {x} does a {y} have?", "What number of {x} are in one {y}?"),
        (("seconds", "minute"), ("minutes", "hour"), ("hours", "day"), ("days", "week"), ("weeks", "year"), ("days", "year")),
    ),
    Family(
        "unit",
        ("Convert 10 {x} to {y}.", "What is 10 {x} in {y}?", "How many {y} is 10 {x}?"),
        (
            ("pounds", "kilograms"),
            ("kilograms", "pounds"),
            ("inches", "centimeters"),
            ("centimeters", "inches"),
            ("liters", "gallons"),
            ("gallons", "liters"),
        ),
    ),
    Family(
        "date",
        ("What happened in {x}?", "What major events happened in {x}?", "What were the main events of {x}?"),
        tuple((y,) for y in YEARS),
    ),
    Family(
        "date",
        ("Who won the World Cup in {x}?", "Which country won the World Cup in {x}?", "In {x}, who won the World Cup?"),
        (("1966",), ("1970",), ("1998",), ("2010",), ("2014",), ("2018",)),
    ),
    Family(
        "date",
        ("What happened in Europe between {x} and {y}?", "What were the main events in Europe from {x} to {y}?"),
        (("1900", "1950"), ("1900", "2000"), ("1914", "1918"), ("1939", "1945"), ("1800", "1900")),
    ),
    Family(
        "date",
        ("What was life like in the {x} century?", "Describe life in the {x} century.", "How did people live in the {x} century?"),
        (("15th",), ("16th",), ("17th",), ("18th",), ("19th",), ("20th",)),
    ),
    Family(
        "date",
        ("What day of the week was {x}?", "Which weekday was {x}?", "On what day of the week did {x} fall?"),
        (("1 January 2000",), ("4 July 1976",), ("25 December 1999",), ("1 January 2001",), ("11 November 1918",)),
    ),
)

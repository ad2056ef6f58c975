"""Turns read word by word (service.baselines.turns): which words and phrases tell of a turn."""

from __future__ import annotations

import pytest

from service.baselines.text import weighted_sentences
from service.baselines.turns import turns_in

# title -> the turns it tells of (keys: a stem, or both stems of a phrase)
TURNS: list[tuple[str, set[str]]] = [
    ("Nissan scraps plan to export EVs", {"scrap"}),
    ("Nissan may scrap its export plan", {"scrap"}),  # a stop counts however it is hedged
    ("Nissan calls off export talks", {"call off"}),
    ("Nissan puts the plan on hold", {"on hold"}),
    ("Nissan scales back its China plan", {"scale back"}),
    ("Nissan winds down output in Spain", {"wind down"}),
    ("Nissan pulls out of Russia", {"pull out"}),
    ("Nissan drops plan to export EVs", {"drop"}),
    ("Nissan ends export talks with Dongfeng", {"end"}),
    ("Nissan kills the idea of a China plant", {"kill"}),
    ("Nissan begins exports of China-made EVs", {"begin"}),
    ("Exports of China-made EVs begin", {"begin"}),
    ("Nissan kicks off exports", {"kick off"}),
    ("Exports get under way", {"underway"}),  # every form of a turn is one key, its first form
    ("Exports are underway", {"underway"}),
    ("Nissan launches exports to the Gulf", {"launch"}),
    ("Nissan resumes shipments", {"resume"}),
    ("Nissan scaled back its plan; Honda scales back too", {"scale back"}),
    ("Nissan makes U-turn on export plan", {"u turn"}),
    ("Nissan rules out exporting EVs", {"rule out"}),
    ("Nissan pulls the plug on exports", {"pull the plug"}),
    ("Nissan puts off the export plan", {"put off"}),
    ("Nissan stops exports of EVs", {"stop"}),
    ("Nissan drops China EV exports", {"drop"}),
    ("Nissan launches China EV exports", {"launch"}),
    ("Nissan announces launch of China EV exports", {"launch"}),
    ("Nissan rolls out exports", {"roll out"}),
    ("Nissan ships first EVs overseas", {"ship first"}),
    ("Nissan's exports start in 2024", {"start"}),  # a start to come, dated
    ("Exports begin in May", {"begin"}),
    ("In May, Nissan began exports", {"begin"}),  # the month, not the hedge
    # a cause is not the object: these are stops
    ("Nissan export plan scrapped amid falling sales", {"scrap"}),
    ("Nissan halts exports as sales slump", {"halt"}),
    ("Nissan shelves plan over losses", {"shelve"}),
    # ends and drops of what is no plan
    ("Sales dropped 9% in May", set()),
    ("In the year ended March, exports rose", set()),
    ("Oil exports drop 15% below plan", set()),
    # starts that are a possibility, a plan, a first step, a date or a compound
    ("Nissan may start exporting cars", set()),
    ("Nissan plans to begin exports", set()),
    ("Nissan could launch exports", set()),
    ("Exports, starting with petrol models", set()),
    ("Nissan mulls exports at the start of 2024", set()),
    ("Nissan eyes Chinese start-ups", set()),
    ("The joint work started in 2016", set()),
    ("Exports have grown since they began in 2021", set()),
    ("Nissan will launch its first NEV", set()),  # a launch of a model, not of exports
    ("Nissan kicks the tyres", set()),
    ("Nissan kicks off the year weighing exports", set()),  # a start of a time
    ("Nissan mulls a high-end export plan", set()),
    ("Nissan's year-end plan: exports", set()),
    ("Nissan weighs exports by end of its business plan", set()),
    ("Nissan may pull out all the stops to export EVs", set()),
    ("Nissan pulls out of Russia", {"pull out"}),
    ("Nissan pushes back against export claims", set()),
    ("Talks under way on Nissan exporting EVs", set()),
    ("Nissan study on exporting EVs underway", set()),
    ("Nissan review of China EV exports under way", set()),
    ("Nissan weighs exporting EVs, starting from 2024", set()),
    ("Nissan weighs an option to start exporting EVs", set()),
    ("Nissan begins weighing exports", set()),
    ("Nissan begins a review of exports", set()),
    ("Nissan's exports started back in mid-2021", set()),
    ("Nissan weighs exports as rivals pull out of China", set()),  # background, not the news
    ("Nissan put its hand on the hold rail", set()),
    # turns of the market's course, not of a plan
    ("Nissan aims to reverse falling sales", set()),
    ("After a pause in sales growth", set()),
    ("Sales began to fall in May", set()),
    ("Nissan halts the slide in sales", set()),
]


@pytest.mark.parametrize(("title", "keys"), TURNS)
def test_the_turns_a_title_tells_of(title: str, keys: set[str]) -> None:
    assert set(turns_in(weighted_sentences(title, ""))) == keys


def test_a_title_counts_twice_and_each_body_sentence_once() -> None:
    turns = turns_in(weighted_sentences("Nissan scraps export plan", "The plan was scrapped. Sales rose."))
    assert turns == {"scrap": 3}

"""The widget of a learner task: the prompt, staged hints, an answer box, a check button.

A face over `task.py`: the buttons call `Task.check`, `Prediction.answer` and reveal
`Task.hints` one at a time; nothing here decides whether a task is done. Without a live
front end (papermill), the widget's text form is the prompt, so the executed notebook
still reads well.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any, cast

import ipywidgets as widgets

if TYPE_CHECKING:  # the task calls this face (Task.show); the face only reads the task
    from nodelab.course.task import Prediction, Task


def _markdown(text: str) -> str:
    """The prompt as HTML: paragraphs and `code`, nothing fancier."""
    parts = []
    for para in text.strip().split("\n\n"):
        escaped = html.escape(para).replace("\n", " ")
        pieces = escaped.split("`")
        escaped = "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(pieces))
        parts.append(f"<p>{escaped}</p>")
    return "".join(parts)


def _answer_box(task: Prediction, out: widgets.Output) -> widgets.Widget:
    box: Any
    if task.choices:
        box = widgets.RadioButtons(options=list(task.choices), value=task.answer_value)
    else:
        kept = task.answer_value if isinstance(task.answer_value, (int, float)) else 0.0
        box = widgets.FloatText(description="answer", value=kept)
    commit = widgets.Button(description="lock in my prediction", button_style="info")
    box.disabled = commit.disabled = task.answer_value is not None  # committed: locked in

    def on_commit(_button: widgets.Button) -> None:
        with out:
            if box.value is None:
                print("pick an answer first")
                return
            task.answer(box.value)
            box.disabled = commit.disabled = True

    commit.on_click(on_commit)
    return widgets.HBox([box, commit])


def task_widget(task: Task) -> widgets.Widget:
    """Prompt, hint button, (answer box), check button, and an output area."""
    out = widgets.Output()
    shown = {"hints": 0}
    hint_button = widgets.Button(description=f"hint (0/{len(task.hints)})",
                                 disabled=not task.hints)
    check_button = widgets.Button(description="check", button_style="success")

    def on_hint(_button: widgets.Button) -> None:
        if shown["hints"] < len(task.hints):
            with out:
                print(f"hint {shown['hints'] + 1}: {task.hints[shown['hints']]}")
            shown["hints"] += 1
            hint_button.description = f"hint ({shown['hints']}/{len(task.hints)})"
            hint_button.disabled = shown["hints"] == len(task.hints)

    def on_check(_button: widgets.Button) -> None:
        with out:
            task.check()

    hint_button.on_click(on_hint)
    check_button.on_click(on_check)
    rows: list[widgets.Widget] = [widgets.HTML(f"<b>Your turn ({task.key})</b>"
                                               + _markdown(task.prompt))]
    if task.predicts:
        rows.append(_answer_box(cast("Prediction", task), out))
    rows += [widgets.HBox([hint_button, check_button]), out]
    box = widgets.VBox(rows, layout=widgets.Layout(border="1px solid #8ab", padding="6px"))
    return box

"""The footer of every screen: Textual's Footer kept to one line. When the keys that apply now do not fit the
width, the least needed ones are left out: they still work, and the palette's Keys lists every key that applies."""

from __future__ import annotations

from rich.cells import cell_len
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer
from textual.widgets._footer import FooterKey  # not exported by textual.widgets; Footer.compose builds the same

# How much a user needs a key in the footer, by binding id: 0 is kept longest. Quitting, help, going back, the
# lesson's own key and starting / stopping come first; then the run's controls; then the keys of what the tab or
# screen is for (editing layers, stepping through samples, choosing runs); then the rest. Save and open are also
# in the palette, which the footer always shows.
NEED = {
    "app.quit": 0, "app.help": 0, "lessons.toggle": 0, "run.train": 0, "run.stop": 0,
    "experiments.back": 0, "experiments.run": 0, "experiments.stop": 0, "runs.back": 0,
    "run.pause": 1, "run.resume": 1, "run.step": 1, "experiments.resume": 1, "runs.select": 1,
    "layer.add": 2, "layer.delete": 2, "layer.activation": 2,  # enter on a cell edits it, as in any table: layer.units
    "insight.prev": 2, "insight.next": 2, "insight.input": 2, "insight.test-points": 2, "insight.gradient-links": 2,
    "runs.open": 2, "experiments.best": 2, "chart.log": 2,  # l only applies on the Train tab
    "layer.units": 3, "lessons.try": 3, "lessons.compare": 3, "run.adjust": 3, "run.reset": 3,
    "runs.which": 3, "runs.log": 3, "experiments.setting": 3, "experiments.fields": 3,
    "preset.save": 4, "preset.open": 4, "runs.export": 4,
}
UNRANKED = 2  # a binding not listed above: as needed as a tab's own keys


def key_width(key_display: str, description: str) -> int:
    """Columns a FooterKey takes in the (non-compact) Footer: the key and its description, padded."""
    return cell_len(key_display) + 2 + (cell_len(description) + 1 if description else 0)


def fitting(keys: list[tuple[str | None, int]], room: int) -> list[int]:
    """The indexes (in order) of the keys to show: (binding id, width) pairs, most needed first, until one does
    not fit; then only keys as needed as that one (when shorter), none less needed."""
    order = sorted(range(len(keys)), key=lambda i: (NEED.get(keys[i][0] or "", UNRANKED), i))
    shown, used, cut_at = [], 0, None
    for i in order:
        need = NEED.get(keys[i][0] or "", UNRANKED)
        if cut_at is not None and need > cut_at:
            break
        if used + keys[i][1] <= room:
            shown.append(i)
            used += keys[i][1]
        elif cut_at is None:
            cut_at = need
    return sorted(shown)


class KeyFooter(Footer):
    """Footer whose keys fit the screen's width (see NEED); no key is ever half drawn."""

    _width = 0  # the width the keys were chosen for

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        self._width = width = self.screen.size.width
        active = self.screen.active_bindings
        offered: dict[str, tuple[Binding, bool, str]] = {}  # one key per action, as Footer does
        for _node, binding, enabled, tooltip in active.values():
            if binding.show and binding.action not in offered:
                offered[binding.action] = (binding, enabled, tooltip)
        listed = list(offered.values())
        palette = None
        if self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE:
            palette = active.get(self.app.COMMAND_PALETTE_BINDING)
        room = width
        if palette is not None:  # docked on the right; its border takes the place of the key's left padding
            room -= key_width(self.app.get_key_display(palette[1]), palette[1].description)
        sizes = [(b.id, key_width(self.app.get_key_display(b), b.description)) for b, _, _ in listed]
        for i in fitting(sizes, room):
            binding, enabled, tooltip = listed[i]
            yield FooterKey(
                binding.key, self.app.get_key_display(binding), binding.description, binding.action,
                disabled=not enabled, tooltip=tooltip,
            ).data_bind(compact=Footer.compact)
        if palette is not None:
            _node, binding, enabled, _tooltip = palette
            yield FooterKey(
                binding.key, self.app.get_key_display(binding), binding.description, binding.action,
                classes="-command-palette", disabled=not enabled, tooltip=binding.tooltip or binding.description,
            )

    def on_resize(self, event: events.Resize) -> None:
        if self._bindings_ready and self.screen.size.width != self._width:
            self.call_after_refresh(self.recompose)

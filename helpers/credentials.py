"""The credentials form of notebook 01: pick a target, type keys into password fields, Connect."""

from __future__ import annotations

import html
import os

import ipywidgets as w

from .clients import check_connection
from .language import language, tr, translate
from .settings import Settings, SettingsError, load_settings, read_env_file, save_settings

FIELDS = [  # (setting, label in the notebook's language, secret)
    ("BATCH_ACCOUNT_NAME", tr("Batch account name"), False),
    ("BATCH_ACCOUNT_URL", tr("Batch account URL"), False),
    ("BATCH_ACCOUNT_KEY", tr("Batch account key"), True),
    ("STORAGE_ACCOUNT_NAME", tr("Storage account name"), False),
    ("STORAGE_ACCOUNT_KEY", tr("Storage account key"), True),
    ("STORAGE_BLOB_URL", tr("Blob URL (optional)"), False),
]


def _choice(value: str | None, options: tuple[str, ...]) -> str:
    """A saved choice as load_settings reads it (any case, spaces ignored), else the default."""
    value = (value or "").strip().lower()
    return value if value in options else options[0]



def form_text(to: str) -> str:
    """The form as text, where no widget can be drawn (a saved notebook, a handout), in `to`."""
    return translate("Credentials form: Target, account fields and Connect (run the cell to see it)",
                     to)

class CredentialsForm(w.VBox):
    """Target local (default) or azure; Shared Key or Microsoft Entra ID (on both: localbatch
    issues its own tokens); a Connect button."""

    def __init__(self):
        try:
            saved, problem = {**read_env_file(), **os.environ}, ""
        except SettingsError as exc:   # a hand-edited .env: say which line, prefill what we can
            saved, problem = dict(os.environ), str(exc)
        self.target = w.ToggleButtons(options=[(tr("Local (no account)"), "local"),
                                               ("Azure", "azure")],
                                      value=_choice(saved.get("BATCH_TARGET"),
                                                    ("local", "azure")),
                                      description=tr("Target"))
        self.auth = w.RadioButtons(options=[(tr("Shared key"), "key"),
                                            ("Microsoft Entra ID", "entra")],
                                   value=_choice(saved.get("BATCH_AUTH"), ("key", "entra")),
                                   description=tr("Sign in with"))
        self.inputs = {
            name: (w.Password if secret else w.Text)(
                value="" if secret else saved.get(name, ""), description=label,
                placeholder=tr("(kept)") if secret and saved.get(name) else "",
                style={"description_width": "150px"}, layout=w.Layout(width="560px"))
            for name, label, secret in FIELDS}
        self.learner = w.Text(value=saved.get("BATCH_LEARNER_ID", ""),
                              description=tr("Learner id"),
                              placeholder=tr("optional: e.g. ana, when a class shares one account"),
                              style={"description_width": "150px"}, layout=w.Layout(width="560px"))
        self.connect = w.Button(description=tr("Connect"), button_style="primary", icon="plug")
        self.result = w.HTML(_failure(problem) if problem else "")
        self.azure_box = w.VBox(list(self.inputs.values()))
        self.target.observe(self._show, "value")
        self.auth.observe(self._show, "value")
        self.connect.on_click(lambda _: self.submit())
        super().__init__([self.target, self.auth, self.azure_box, self.learner, self.connect,
                          self.result])
        self._show()

    def _show(self, *_):
        azure = self.target.value == "azure"
        self.azure_box.layout.display = "" if azure else "none"
        for name, _, secret in FIELDS:
            if "KEY" in name:
                self.inputs[name].layout.display = "" if self.auth.value == "key" else "none"

    def __repr__(self) -> str:  # what a saved notebook shows where the form was
        return form_text(language())

    def values(self) -> dict[str, str]:
        """What to save: the target, and for Azure the fields as typed. An emptied field clears
        its saved value ("" below); an empty key field keeps the saved key (it is never shown)."""
        values = {"BATCH_TARGET": self.target.value, "BATCH_AUTH": self.auth.value,
                  "BATCH_LEARNER_ID": self.learner.value.strip()}
        if self.target.value == "azure":
            for name, label, secret in FIELDS:
                if self.inputs[name].value.strip() or not secret:
                    values[name] = self.inputs[name].value.strip()
        return values

    def submit(self) -> Settings | None:
        """Save the settings, try both services, and say in one sentence per problem what failed."""
        try:
            save_settings(self.values())   # refuses to overwrite a .env it cannot read
            for name, value in self.values().items():  # this kernel sees the new values too
                if value:
                    os.environ[name] = value
                else:
                    os.environ.pop(name, None)
            for name in (n for n, _, secret in FIELDS if secret):
                self.inputs[name].value = ""
            settings = load_settings()
        except SettingsError as exc:
            self.result.value = _failure(str(exc))
            return None
        problems = check_connection(settings)
        if problems:
            self.result.value = "<br>".join(_failure(p) for p in problems)
            return None
        self.result.value = "<b style='color:#080'>✓</b> " + tr(
            "Connected to Batch account <code>{batch}</code> and storage account "
            "<code>{storage}</code> ({target}).").format(
            batch=settings.batch_account, storage=settings.storage_account,
            target=tr("local") if settings.target == "local" else tr("azure"))
        return settings


def _failure(text: str) -> str:
    return f"<b style='color:#a00'>✗</b> {html.escape(text, quote=False)}"

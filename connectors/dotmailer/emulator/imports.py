"""Contact imports: E12-E15 (start, status, report, faults CSV)."""

from __future__ import annotations

import base64
import binascii
import csv
import io
import uuid

from werkzeug.wrappers import Response

from connectors.dotmailer.emulator.helpers import (
    _canon,
    _cell,
    _norm_reason,
    _parse_upload,
    _typed_cell,
    _valid_email,
)
from connectors.dotmailer.emulator.server import (
    EmulatorCore,
)
from connectors.dotmailer.emulator.state import (
    _INVALID,
    ACTIVE_STATUSES,
    EMAIL_TYPES,
    FILE_INVALID,
    LOG,
    OPT_IN_TYPES,
    REASON_COUNTERS,
    REPORT_KEYS,
    Contact,
    Import,
    _ApiError,
    _Call,
)


class ImportsMixin(EmulatorCore):
    # -- imports ---------------------------------------------------------------------------------

    def _active_imports(self, account: int) -> int:
        pending = [
            i
            for i in self._state.imports.values()
            if i.account == account and i.status == "NotFinished"
        ]
        for imp in pending:
            self._finish_if_due(imp)
        return sum(1 for i in pending if i.status == "NotFinished")

    def _e_start_import(self, call: _Call) -> Response:
        book = self._book_for(call, writable=True)
        if self._active_imports(call.account) >= int(self._settings["max_active_imports_server"]):
            raise self._error("ERROR_IMPORT_TOOMANYACTIVEIMPORTS")
        file_name, data = self._upload(call)
        headers, rows, problem = _parse_upload(file_name, data)
        if problem == "unsupported":
            raise self._error("ERROR_IMPORT_UNSUPPORTED_FORMAT")
        if problem == "no_email_column" and self._settings["no_email_column"] == "error":
            raise self._error("ERROR_NO_EMAIL_COLUMN")
        imp = Import(
            self._state.next_guid(),
            call.account,
            book.id,
            file_name,
            self.now(),
            headers,
            rows,
            problem,
        )
        self._apply_script(imp)
        self._state.imports[imp.id] = imp
        return self._json({"id": imp.id, "status": imp.status}, 202)

    def _upload(self, call: _Call) -> tuple[str, bytes]:
        request = call.request
        if request.mimetype == "multipart/form-data":
            upload = next(iter(request.files.values()), None)
            if upload is None or not upload.filename:
                raise _ApiError(int(self._settings["error_status"]), FILE_INVALID)
            return upload.filename, upload.read()
        body = self._body_object(call)
        name, data = body.get("filename"), body.get("data")
        if not isinstance(name, str) or not name.strip() or not isinstance(data, str):
            raise _ApiError(int(self._settings["error_status"]), FILE_INVALID)
        try:
            return name.strip(), base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise _ApiError(int(self._settings["error_status"]), FILE_INVALID) from None

    def _apply_script(self, imp: Import) -> None:
        script = self._scripts.pop(0) if self._scripts else {}
        imp.outcome = script.get("status", "Finished")
        imp.polls_needed = int(script.get("polls", self._settings["import_polls_until_done"]))
        seconds = script.get("seconds", self._settings["import_seconds_until_done"])
        imp.seconds_needed = None if seconds is None else float(seconds)
        faults = script.get("faults", [])
        imp.scripted_faults = [[str(e).strip().lower(), str(r)] for e, r in faults]
        imp.scripted_report = {str(k): int(v) for k, v in script.get("report", {}).items()}

    def _import_for(self, call: _Call) -> Import | None:
        try:
            key = str(uuid.UUID(call.params["import"]))
        except ValueError:
            raise self._error("ERROR_PARAMETER_INVALID") from None
        imp = self._state.imports.get(key)
        return imp if imp is not None and imp.account == call.account else None

    def _finish_if_due(self, imp: Import) -> None:
        if imp.status != "NotFinished" or imp.seconds_needed is None:
            return
        if (self.now() - imp.created).total_seconds() >= imp.seconds_needed:
            self._finish_import(imp)

    def _e_import_status(self, call: _Call) -> Response:
        imp = self._import_for(call)
        if imp is None:
            if self._settings["unknown_import_response"] == "404":
                raise self._error("ERROR_IMPORT_NOT_FOUND")
            return self._json({"id": call.params["import"], "status": "Unknown"})
        if imp.status == "NotFinished" and imp.seconds_needed is None:
            imp.polls += 1
            if imp.polls > imp.polls_needed:
                self._finish_import(imp)
        self._finish_if_due(imp)
        return self._json({"id": imp.id, "status": imp.status})

    def _final_import(self, call: _Call) -> Import:
        imp = self._import_for(call)
        if imp is None:
            raise self._error("ERROR_IMPORT_NOT_FOUND")
        self._finish_if_due(imp)
        if imp.status == "NotFinished":
            raise self._error("ERROR_IMPORT_REPORT_NOT_FOUND")
        return imp

    def _e_import_report(self, call: _Call) -> Response:
        report = self._final_import(call).report or {}
        return self._json({k: int(report.get(k, 0)) for k in (*REPORT_KEYS, *report)})

    def _e_import_faults(self, call: _Call) -> Response:
        imp = self._final_import(call)
        newline = "\r\n" if self._settings["faults_csv_newline"] == "CRLF" else "\n"
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator=newline)
        writer.writerow(["Reason", *imp.headers])
        writer.writerows(imp.faults)
        text = ("\ufeff" if self._settings["faults_csv_bom"] else "") + buffer.getvalue()
        return Response(
            text.encode("utf-8"), status=200, content_type=self._settings["faults_content_type"]
        )

    def _finish_import(self, imp: Import) -> None:
        status = imp.outcome
        if imp.problem is not None:
            status = "InvalidFileFormat"
        elif imp.book not in self._state.books:
            status = "Failed"
        report = dict.fromkeys(REPORT_KEYS, 0)
        if status == "Finished":
            faults = self._apply_import(imp, report)
        else:
            faults = [self._fault_row(imp, email, reason) for email, reason in imp.scripted_faults]
        report.update(imp.scripted_report)
        imp.status, imp.report, imp.faults = status, report, faults
        LOG.debug("import %s finished as %s", imp.id, status)

    def _fault_row(self, imp: Import, email: str, reason: str) -> list[str]:
        column = self._email_column(imp)
        row = next((r for r in imp.rows if _cell(r, column).strip().lower() == email), None)
        if row is None:
            row = ["" for _ in imp.headers] or [""]
            row[min(column, len(row) - 1)] = email
        return [reason, *row]

    @staticmethod
    def _email_column(imp: Import) -> int:
        return next((i for i, h in enumerate(imp.headers) if h.strip().lower() == "email"), 0)

    def _apply_import(self, imp: Import, report: dict[str, int]) -> list[list[str]]:
        column = self._email_column(imp)
        faults: list[list[str]] = []
        latest: dict[str, list[str]] = {}
        for row in imp.rows:
            if not any(cell.strip() for cell in row):
                continue
            email = _cell(row, column).strip().lower()
            if not _valid_email(email):
                faults.append(["Invalid Entries", *row])
                report["invalidEntries"] += 1
                continue
            if email in latest:
                report["duplicateEmails"] += 1  # the last row wins
            latest[email] = row
        scripted = dict((e, r) for e, r in imp.scripted_faults)
        for email, row in latest.items():
            reason = scripted.get(email) or self._refusal(imp, email)
            if reason is not None:
                faults.append([reason, *row])
                report[REASON_COUNTERS.get(_norm_reason(reason), "failures")] += 1
                continue
            created = self._import_row(imp, email, row)
            report["newContacts" if created else "updatedContacts"] += 1
        return faults

    def _refusal(self, imp: Import, email: str) -> str | None:
        contact = self._contact_by_email(imp.account, email)
        if contact is None:
            return None
        if contact.status not in ACTIVE_STATUSES:
            return {
                "HardBounced": "Hard Bounced",
                "Unsubscribed": "Unsubscribed",
                "Suppressed": "Suppressed by you",
            }.get(contact.status, "Globally Suppressed")
        member = self._state.memberships.get((imp.book, contact.id))
        return "Unsubscribed" if member is not None and member.unsubscribed_at else None

    def _import_row(self, imp: Import, email: str, row: list[str]) -> bool:
        now = self.now()
        contact = self._contact_by_email(imp.account, email)
        created = contact is None
        if contact is None:
            contact = Contact(
                self._state.next_id("contact"), imp.account, email, now, opt_in_type="Unknown"
            )
            self._state.add_contact(contact)
        for index, header in enumerate(imp.headers):
            self._import_cell(contact, header.strip().lower(), _cell(row, index))
        contact.modified = now
        member = self._state.memberships.get((imp.book, contact.id))
        if member is None:
            self._join(self._state.books[imp.book], contact, now)
        else:
            member.modified = now
        self._state.changed("contacts", contact.account)
        return created

    def _import_cell(self, contact: Contact, header: str, value: str) -> None:
        if header in ("email", "id"):
            return
        if header in ("optintype", "emailtype"):
            allowed = OPT_IN_TYPES if header == "optintype" else EMAIL_TYPES
            canonical = _canon(value.strip(), allowed)
            if canonical is not None:
                setattr(
                    contact, "opt_in_type" if header == "optintype" else "email_type", canonical
                )
            return
        target = self._field_named(contact.account, header)
        if target is None:
            return  # unknown columns are ignored
        if not value.strip():
            if self._settings["blank_cells"] == "clear":
                contact.fields[target.name] = None
            return
        typed = _typed_cell(target.type, value)
        if typed is not _INVALID:
            contact.fields[target.name] = typed

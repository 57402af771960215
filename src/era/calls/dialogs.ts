/**
 * Which of a call's dialogs is the call's own: the one whose end ends it. A call has one dialog
 * until a transfer opens a referred one, which replaces it; a ring group's or queue's forks may
 * come as dialogs of their own (era-platform.md §5.4 says one dialog "most likely"), the one that
 * answers being the call's. Events can come late (webhook deliveries pass each other), or be
 * missed (an outage), so the platform's time (`eventts`) orders them, not their arrival.
 */

/** Kept per call; the lists stay undefined for a call with one dialog. */
export interface DialogTrack {
  /** The call's dialog now: its end is the call's. */
  dialog: string | undefined;
  /** The platform time of its latest event. */
  dialogAt: number | undefined;
  /** It came by a transfer: a dialog whose events are older than it was replaced by it. */
  dialogByTransfer: boolean;
  /** Dialogs a transfer replaced: their late events and their ends are not the call's. */
  olderDialogs: string[] | undefined;
  /** Other dialogs heard (forks that did not answer, a dialog the answering one took over from). */
  otherDialogs: string[] | undefined;
}

/**
 * What a dialog event made of its dialog: the call's (`current`), one a transfer replaced or a
 * fork, heard before (`older`, `other`), or heard now for the first time, late (`late`).
 */
export type DialogRole = 'current' | 'older' | 'other' | 'late';

/**
 * A hostile or broken platform could name any number of dialogs: the latest these many of each are
 * kept (a ring group of as many phones, as many transfers in a row), the earliest forgotten first.
 */
const KEPT = 32;

function keep(list: string[] | undefined, dialog: string): string[] {
  const out = list ?? [];
  if (out.includes(dialog)) return out;
  if (out.length >= KEPT) out.shift();
  out.push(dialog);
  return out;
}

function drop(list: string[] | undefined, dialog: string): void {
  if (list === undefined) return;
  const i = list.indexOf(dialog);
  if (i >= 0) list.splice(i, 1);
}

function makeCurrent(t: DialogTrack, dialog: string, at: number | undefined, referred: boolean): void {
  if (t.dialog !== undefined) {
    // A transfer replaces the dialog it follows; one whose events are newer (a fork of the group
    // transferred to, heard first) stays a sibling.
    const replaced = referred && (at === undefined || t.dialogAt === undefined || t.dialogAt <= at);
    if (replaced) t.olderDialogs = keep(t.olderDialogs, t.dialog);
    else t.otherDialogs = keep(t.otherDialogs, t.dialog);
  }
  drop(t.otherDialogs, dialog);
  t.dialog = dialog;
  t.dialogAt = at;
  t.dialogByTransfer = referred;
}

/**
 * A dialog's invite, progress, pickup or answer while the call goes on (`referred`: the dialog
 * comes by a transfer). A referred dialog becomes the call's, and the one it follows is older for
 * good — unless the call's dialog came by a transfer that came after it (a transfer heard late).
 * Another dialog's event newer than the call's dialog's makes it the call's (a fork that
 * answered, or a transfer whose referred event went unheard), the other staying a sibling; an
 * older one is late: of a dialog that transfer replaced, or of a sibling.
 */
export function noteDialog(t: DialogTrack, dialog: string, at: number | undefined, referred: boolean): DialogRole {
  if (t.dialog === dialog) {
    if (at !== undefined && (t.dialogAt === undefined || at > t.dialogAt)) t.dialogAt = at;
    // Its referred event came after its answer (webhook order): it came by a transfer all the same.
    if (referred) t.dialogByTransfer = true;
    return 'current';
  }
  if (t.olderDialogs?.includes(dialog)) return 'older';
  const sibling = t.otherDialogs?.includes(dialog) === true;
  if (t.dialog !== undefined && at !== undefined && t.dialogAt !== undefined && at < t.dialogAt) {
    if (t.dialogByTransfer) {
      drop(t.otherDialogs, dialog);
      t.olderDialogs = keep(t.olderDialogs, dialog);
      return sibling ? 'older' : 'late';
    }
    if (!referred) return sibling ? 'other' : keepSibling(t, dialog);
  }
  makeCurrent(t, dialog, at, referred);
  return 'current';
}

function keepSibling(t: DialogTrack, dialog: string): DialogRole {
  t.otherDialogs = keep(t.otherDialogs, dialog);
  return 'late';
}

/**
 * Whether a dlg_end or dlg_stop of `dialog` (undefined: none named) is the call's end: the call's
 * dialog's, or one never heard of — the newest, whose first events were missed, which then
 * becomes the call's. A replaced dialog's or a sibling's is not.
 */
export function endsCall(t: DialogTrack, dialog: string | undefined, at: number | undefined): boolean {
  if (dialog === undefined || t.dialog === undefined || dialog === t.dialog) return true;
  if (isOtherDialog(t, dialog)) return false;
  makeCurrent(t, dialog, at, false);
  return true;
}

/** What a successor takes over across a redeploy (a copy: the lists are its own). */
export function copyDialogs(t: DialogTrack): DialogTrack {
  return {
    dialog: t.dialog,
    dialogAt: t.dialogAt,
    dialogByTransfer: t.dialogByTransfer,
    olderDialogs: t.olderDialogs?.slice(0, KEPT),
    otherDialogs: t.otherDialogs?.slice(0, KEPT),
  };
}

/** A dialog a transfer replaced, or a sibling: what it says after the call's end is not news. */
export function isOtherDialog(t: DialogTrack, dialog: string | undefined): boolean {
  return dialog !== undefined && (t.olderDialogs?.includes(dialog) === true || t.otherDialogs?.includes(dialog) === true);
}

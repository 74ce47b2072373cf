// For a process started by the stack launcher (scripts/children.ts marks its children with
// HAVATAR_STACK_ID): its stdout and stderr are pipes the launcher reads. Once the launcher is
// gone (killed, crashed) the next write to them fails with EPIPE, which Node raises as an
// uncaught exception: the process would die mid-write, skipping its own cleanup (the bridge's
// FFmpeg children and its stats FIFO, the simulator's socat). Instead, output is dropped from
// then on and `onGone` runs once: the same clean stop as SIGTERM. The launcher's reaper sends
// that SIGTERM too; whichever comes first stops the process.
//
// A process not started by the launcher (the bridge under systemd, anything run by hand) keeps
// Node's default behaviour.

export function watchParent(onGone: (why: string) => void): void {
  if (!process.env.HAVATAR_STACK_ID) return;
  let gone = false;
  const onError = (err: NodeJS.ErrnoException) => {
    if (gone) return;
    gone = true;
    onGone(`output pipe closed (${err.code ?? err.message})`);
  };
  process.stdout.on('error', onError);
  process.stderr.on('error', onError);
}

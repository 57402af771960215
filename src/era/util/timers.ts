/** The longest delay setTimeout and setInterval hold; a longer one fires at once (Node warns TimeoutOverflowWarning). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * `promise`'s outcome, or `late()` if `deadline` (epoch ms) comes first. What `promise` does
 * afterwards is no one's concern here (others may await it), and its failure is never unhandled.
 */
export function byDeadline<T>(promise: Promise<T>, deadline: number, late: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(late()), Math.max(0, deadline - Date.now()));
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

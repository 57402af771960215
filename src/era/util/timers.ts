/** The longest delay setTimeout and setInterval hold; a longer one fires at once (Node warns TimeoutOverflowWarning). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

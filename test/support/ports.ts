/**
 * A port whose connections are refused however many test files run at once: nothing listens on
 * 1 (tcpmux) and no one is given it, as the kernel hands out ephemeral ports from 32768 up and
 * every test server asks for port 0. A port found free and closed again can be taken by another
 * worker's server before the test connects to it.
 */
export const REFUSED_PORT = 1;

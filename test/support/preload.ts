import { setDefaultTimeout } from "bun:test";

// bunfig's [test] timeout is not honoured by this Bun; tests that start processes need more than 5 s.
setDefaultTimeout(60_000);

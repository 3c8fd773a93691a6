// Package browsertest drives the console in a real browser: headless
// Chromium through the DevTools protocol (github.com/chromedp/chromedp).
// It is a module of its own so that the main module keeps its two
// dependencies; go.work joins it to the main module, and .ci/nested runs
// its tests. Without Chromium its tests skip, except under CI=true, where
// they fail.
package browsertest

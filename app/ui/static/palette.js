// The statuses' colours, shared by the table, the chart, the map's icons and the clusters' pies.
// Paul Tol's high-contrast scheme (blue, yellow, red, and black): every pair stays apart under
// simulated protanopia, deuteranopia and tritanopia (CIEDE2000 ≥ 20), and `ink`, the colour
// of the letter or word written on each, has at least 4.5:1 contrast with it. Checked by
// tests/ui/test_palette.py, which reads this file: keep one status per line.
export const STATUSES = {
  claimed: { colour: "#EEBB33", ink: "#000000", letter: "C" },
  verified: { colour: "#004488", ink: "#FFFFFF", letter: "V" },
  disputed: { colour: "#BB5566", ink: "#000000", letter: "D" },
  refuted: { colour: "#000000", ink: "#FFFFFF", letter: "R" },
};
// The sides on the control layer, given as the page first meets them (alphabetically within
// one answer; a fourth side takes the first colour again): Paul Tol's muted cyan, wine and
// sand, every pair as far apart as the statuses under the same simulations. A side's chip is a
// box with its name written in the ink, where a status is a lettered disc, so the words always
// say which side it is.
export const SIDES = [
  { colour: "#88CCEE", ink: "#000000" },
  { colour: "#882255", ink: "#FFFFFF" },
  { colour: "#DDCC77", ink: "#000000" },
];

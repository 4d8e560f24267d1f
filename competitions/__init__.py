"""Django app for competitions, commitments, submissions and the leaderboard."""

"""Call recordings: the policy that decides, the files, who may listen."""

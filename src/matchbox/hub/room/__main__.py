from matchbox.hub.room.service import main

main()
